"""Personal numbers at rest: encrypted for display, hashed for look-ups, masked for most viewers."""

from __future__ import annotations

from dataclasses import dataclass

from training_runtime.crypto import FieldCipher, KeyedHasher
from training_runtime.masking import mask_national_id, mask_phone

_NATIONAL_ID = b"users.national_id"
_PHONE = b"users.phone"


@dataclass(frozen=True)
class PersonalData:
    cipher: FieldCipher
    hasher: KeyedHasher

    def national_id_hash(self, value: str) -> bytes:
        return self.hasher.digest("national_id", value)

    def phone_hash(self, value: str) -> bytes:
        return self.hasher.digest("phone", value)

    def seal_national_id(self, value: str) -> bytes:
        return self.cipher.encrypt_text(value, _NATIONAL_ID)

    def seal_phone(self, value: str) -> bytes:
        return self.cipher.encrypt_text(value, _PHONE)

    def national_id(self, sealed: bytes | None, *, whole: bool) -> str:
        if not sealed:
            return ""
        value = self.cipher.decrypt_text(sealed, _NATIONAL_ID)
        return value if whole else mask_national_id(value)

    def phone(self, sealed: bytes | None, *, whole: bool) -> str:
        if not sealed:
            return ""
        value = self.cipher.decrypt_text(sealed, _PHONE)
        return value if whole else mask_phone(value)
