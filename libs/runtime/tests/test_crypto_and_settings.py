"""Field encryption, keyed hashes and fail-fast settings."""

from __future__ import annotations

import os

import pytest

from training_runtime.crypto import DecryptionError, FieldCipher, KeyedHasher
from training_runtime.settings import ServiceSettings, SettingsError, load_settings, parse_keyring, service_config


def test_encrypted_value_decrypts_only_in_its_own_place() -> None:
    cipher = FieldCipher({"a": os.urandom(32)})
    sealed = cipher.encrypt_text("440106199001011235", b"users.national_id")
    assert b"440106" not in sealed
    assert cipher.decrypt_text(sealed, b"users.national_id") == "440106199001011235"
    with pytest.raises(DecryptionError):
        cipher.decrypt_text(sealed, b"users.phone")


def test_rotated_keyring_still_decrypts_old_values_and_encrypts_with_the_new_key() -> None:
    old = os.urandom(32)
    before = FieldCipher({"2025": old})
    after = FieldCipher({"2026": os.urandom(32), "2025": old})
    sealed = before.encrypt(b"secret", b"x")
    assert after.decrypt(sealed, b"x") == b"secret"
    assert after.key_id_of(after.encrypt(b"secret", b"x")) == "2026"


def test_tampered_ciphertext_is_detected() -> None:
    cipher = FieldCipher({"a": os.urandom(32)})
    sealed = bytearray(cipher.encrypt(b"secret", b"x"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(sealed), b"x")


def test_keyed_hash_depends_on_key_and_purpose() -> None:
    a, b = KeyedHasher(os.urandom(32)), KeyedHasher(os.urandom(32))
    assert a.digest("phone", "13800138000") == a.digest("phone", "13800138000")
    assert a.digest("phone", "13800138000") != b.digest("phone", "13800138000")
    assert a.digest("phone", "13800138000") != a.digest("national_id", "13800138000")


class DemoSettings(ServiceSettings):
    model_config = service_config("DEMO_")
    grpc_port: int = 50099


def test_missing_and_bad_settings_fail_together_naming_each_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DEMO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DEMO_NATS_URL", "http://wrong")
    monkeypatch.setenv("DEMO_GRPC_PORT", "not-a-port")
    with pytest.raises(SettingsError) as caught:
        load_settings(DemoSettings)
    message = caught.value.message
    assert "DEMO_DATABASE_URL: is required" in message
    assert "DEMO_NATS_URL" in message
    assert "nats://" in message
    assert "DEMO_GRPC_PORT" in message


def test_plain_postgresql_urls_are_accepted_and_use_asyncpg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://svc:pw@db:5432/demo")
    monkeypatch.setenv("DEMO_NATS_URL", "nats://nats:4222")
    settings = load_settings(DemoSettings)
    assert settings.database_url == "postgresql+asyncpg://svc:pw@db:5432/demo"


@pytest.mark.parametrize("value", ["", "k1", "k1:short", "k1:!!!!", "k1:" + "A" * 43 + ",k1:" + "A" * 43])
def test_malformed_keyrings_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_keyring(value)
