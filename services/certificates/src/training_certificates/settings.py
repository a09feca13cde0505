"""Certificates' settings (environment variables prefixed CERTIFICATES_)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from training_runtime.settings import ServiceSettings, parse_keyring, service_config


class CertificatesSettings(ServiceSettings):
    model_config = service_config("CERTIFICATES_")

    grpc_port: int = Field(50055, ge=0, le=65535)
    # `kid:base64-32-byte-Ed25519-seed,...`: the first key signs new certificates, the others still
    # verify the certificates they signed (rotation: put the new key first, keep the old ones).
    certificate_signing_keys: SecretStr
    # How long a certificate is valid from its issue date, in days.
    validity_days: int = Field(365, ge=1, le=3650)
    # Deadline of the identity look-ups made at issuance (trainee name and ID, institution name).
    identity_timeout_seconds: float = Field(5.0, gt=0, le=60)
    # How long a replica reuses a verification answer. Revocations empty it at once on every replica
    # (NATS); this bounds what a missed revocation message or an edit behind the service's back can
    # hide. 0 turns the cache off.
    verification_cache_seconds: float = Field(30.0, ge=0, le=300)

    @field_validator("certificate_signing_keys")
    @classmethod
    def _keyring(cls, value: SecretStr) -> SecretStr:
        parse_keyring(value.get_secret_value())
        return value
