"""Identity's settings (environment variables prefixed IDENTITY_)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from training_runtime.settings import ServiceSettings, decode_key, parse_keyring, service_config


def parse_service_clients(value: str) -> dict[str, str]:
    """`learning:secret,exams:secret` -> {"learning": "secret", ...}."""
    clients: dict[str, str] = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, secret = item.partition(":")
        if not sep or not name or len(secret) < 16:
            raise ValueError("must be name:secret pairs, secrets at least 16 characters")
        clients[name.strip()] = secret
    return clients


class IdentitySettings(ServiceSettings):
    model_config = service_config("IDENTITY_")

    grpc_port: int = Field(50051, ge=0, le=65535)
    # `kid:base64-32-byte-Ed25519-seed,...`; the first key signs, the others still verify.
    jwt_signing_keys: SecretStr
    access_token_ttl_seconds: int = Field(900, ge=60, le=24 * 3600)
    service_token_ttl_seconds: int = Field(900, ge=60, le=24 * 3600)
    refresh_token_ttl_seconds: int = Field(14 * 24 * 3600, ge=300)
    # `kid:base64-32-byte-key,...`: AES-256-GCM keys for personal data at rest; the first encrypts.
    field_encryption_keys: SecretStr
    # base64 32-byte key for the keyed look-up hashes of ID and phone numbers.
    lookup_hash_key: SecretStr
    # `service:secret,...`: the platform services that may obtain service tokens.
    service_clients: SecretStr = SecretStr("")
    login_max_failures: int = Field(5, ge=1, le=100)
    login_failure_window_seconds: int = Field(900, ge=1)
    login_lock_seconds: int = Field(900, ge=1)
    password_hash_time_cost: int = Field(3, ge=1, le=20)
    password_hash_memory_kib: int = Field(65536, ge=1024)
    password_hash_parallelism: int = Field(2, ge=1, le=16)

    # Face matching (docs/identity.md, "Face checks"). Worker processes that decode, detect and embed;
    # each holds the models (about 200 MB resident) and keeps one core busy. Size it to the pod's CPUs.
    face_workers: int = Field(2, ge=1, le=64)
    # Euclidean distance between dlib embeddings at or below which two photos are the same person.
    # Measured on the test photographs: same person 0.08-0.44, different people 0.81-0.87.
    face_match_threshold: float = Field(0.5, ge=0.3, le=0.7)
    # Uploads larger than this are refused before decoding (must fit in a gRPC message).
    face_max_upload_bytes: int = Field(3 * 1024 * 1024, ge=16 * 1024)
    # Pixels a photo may declare (width x height); guards the workers' memory against tiny files
    # that decode into enormous pictures.
    face_max_image_pixels: int = Field(25_000_000, ge=100_000)
    # Photos are scaled down so their longer side is at most this before detection.
    face_analysis_max_side: int = Field(800, ge=240, le=4096)
    # Faces narrower than this, in pixels of the analysed picture, are too small to trust.
    face_min_size: int = Field(80, ge=40, le=1000)
    # JPEG quality of the stored snapshots.
    face_snapshot_quality: int = Field(85, ge=50, le=95)

    # Retention (docs/records.md, "Retention"). How often the retention job runs, and the years an
    # enrollment's records are kept when its event predates courses announcing them (the longest
    # period of the rulebook, so nothing is deleted early).
    retention_interval_seconds: float = Field(3600.0, gt=0)
    retention_default_years: int = Field(6, ge=1, le=100)

    @field_validator("jwt_signing_keys", "field_encryption_keys")
    @classmethod
    def _keyring(cls, value: SecretStr) -> SecretStr:
        parse_keyring(value.get_secret_value())
        return value

    @field_validator("lookup_hash_key")
    @classmethod
    def _hash_key(cls, value: SecretStr) -> SecretStr:
        decode_key(value.get_secret_value())
        return value

    @field_validator("service_clients")
    @classmethod
    def _clients(cls, value: SecretStr) -> SecretStr:
        parse_service_clients(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _upload_fits_a_message(self) -> IdentitySettings:
        # Headroom for the other fields of the request and the protobuf framing.
        if self.face_max_upload_bytes + 64 * 1024 > self.grpc_max_message_bytes:
            raise ValueError(
                "face_max_upload_bytes must be at least 64 KiB below grpc_max_message_bytes "
                f"({self.grpc_max_message_bytes})"
            )
        return self
