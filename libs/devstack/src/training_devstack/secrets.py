"""Development secrets: generated per checkout (for `make run`) or per test session, never committed."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

SERVICES = ("identity", "courses", "learning", "exams", "certificates", "supervision", "gateway")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def new_ed25519_seed() -> str:
    key = Ed25519PrivateKey.generate()
    return _b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def new_key() -> str:
    return _b64(os.urandom(32))


def generate() -> dict[str, str]:
    """A complete set: token signing key, field encryption keys, and a client secret per service."""
    values = {
        "jwt_signing_keys": f"dev-{secrets.token_hex(3)}:{new_ed25519_seed()}",
        "field_encryption_keys": f"dev-{secrets.token_hex(3)}:{new_key()}",
        "lookup_hash_key": new_key(),
        "certificate_signing_keys": f"cert-{secrets.token_hex(3)}:{new_ed25519_seed()}",
        # The bearer token the (simulated) provincial supervision platform accepts.
        "province_token": secrets.token_urlsafe(24),
    }
    for service in SERVICES:
        values[f"client_secret_{service}"] = secrets.token_urlsafe(24)
    return values


def load_or_create(path: Path) -> dict[str, str]:
    """The checkout's dev secrets, created on first use (mode 0600, git-ignored)."""
    if path.exists():
        stored = json.loads(path.read_text())
        fresh = generate()
        missing = {k: v for k, v in fresh.items() if k not in stored}
        if missing:
            stored.update(missing)
            path.write_text(json.dumps(stored, indent=2))
        return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    values = generate()
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


def service_client_list(values: dict[str, str]) -> str:
    """Identity's list of service clients: `name:secret,...`."""
    return ",".join(f"{s}:{values[f'client_secret_{s}']}" for s in SERVICES if s != "identity")
