"""Field encryption at rest (AES-256-GCM with key ids, so keys rotate) and keyed look-up hashes.

An encrypted value is `len(kid) | kid | 12-byte nonce | ciphertext+tag`. `associated_data` binds a
ciphertext to where it belongs (e.g. b"users.national_id"), so a value copied into another column
does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class DecryptionError(Exception):
    pass


class FieldCipher:
    def __init__(self, keyring: dict[str, bytes]) -> None:
        if not keyring:
            raise ValueError("the keyring is empty")
        for kid, key in keyring.items():
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes")
            if not 0 < len(kid.encode()) < 256:
                raise ValueError("key ids must be 1 to 255 bytes")
        self._keys = {kid: AESGCM(key) for kid, key in keyring.items()}
        self._current = next(iter(keyring))

    @property
    def current_key_id(self) -> str:
        return self._current

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        kid = self._current.encode()
        nonce = os.urandom(12)
        return bytes([len(kid)]) + kid + nonce + self._keys[self._current].encrypt(nonce, plaintext, associated_data)

    def decrypt(self, blob: bytes, associated_data: bytes) -> bytes:
        if not blob:
            raise DecryptionError("empty ciphertext")
        size = blob[0]
        kid = blob[1 : 1 + size].decode(errors="replace")
        nonce = blob[1 + size : 13 + size]
        aead = self._keys.get(kid)
        if aead is None:
            raise DecryptionError(f"unknown key id {kid!r}")
        try:
            return aead.decrypt(nonce, blob[13 + size :], associated_data)
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not authenticate") from exc

    def encrypt_text(self, text: str, associated_data: bytes) -> bytes:
        return self.encrypt(text.encode(), associated_data)

    def decrypt_text(self, blob: bytes, associated_data: bytes) -> str:
        return self.decrypt(blob, associated_data).decode()

    def key_id_of(self, blob: bytes) -> str:
        return blob[1 : 1 + blob[0]].decode(errors="replace")


class KeyedHasher:
    """HMAC-SHA256 of normalised values: equality look-ups without storing the value in clear."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the look-up hash key must be at least 32 bytes")
        self._key = key

    def digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self._key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
