"""The gateway's settings (environment variables prefixed GATEWAY_).

The gateway is an HTTP process, not a gRPC service: it shares the process settings (logs,
telemetry, shutdown, where identity answers) and adds where the other services answer, the HTTP
listener, limits, CORS and the media stores the lesson player reads from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from training_runtime.settings import ProcessSettings, service_config

SERVICES = ("identity", "courses", "learning", "exams", "certificates")


def parse_media_roots(value: str) -> dict[str, Path]:
    """`demo=/srv/media/demo,courseware=/mnt/cw`: `media://demo/x.mp4` is served from /srv/media/demo/x.mp4."""
    roots: dict[str, Path] = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, folder = item.partition("=")
        name = name.strip()
        if not sep or not name.replace("-", "").replace("_", "").isalnum() or not folder.strip():
            raise ValueError("must be store=folder pairs separated by commas (store: letters, digits, - or _)")
        path = Path(folder.strip())
        if not path.is_dir():
            raise ValueError(f"media folder {folder.strip()!r} of store {name!r} is not a directory")
        roots[name] = path.resolve()
    return roots


class GatewaySettings(ProcessSettings):
    model_config = service_config("GATEWAY_")

    http_host: str = "0.0.0.0"
    http_port: int = Field(8080, ge=0, le=65535)

    # Where the services answer (host:port). identity_url comes from the process settings.
    courses_url: str = "127.0.0.1:50052"
    learning_url: str = "127.0.0.1:50053"
    exams_url: str = "127.0.0.1:50054"
    certificates_url: str = "127.0.0.1:50055"
    # Asked only for its chain heads and links when building a class archive; empty: not asked
    # (the archive then says the heads are unavailable from supervision).
    supervision_url: str = "127.0.0.1:50056"
    # The services /readyz waits for (a deployment without exams or certificates names fewer).
    required_services: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["identity", "courses", "learning", "exams", "certificates"]
    )
    # Deadline of one call to a service.
    upstream_timeout_seconds: float = Field(15.0, gt=0, le=120)

    # Largest request body accepted (JSON with a base64 camera frame fits comfortably).
    max_body_bytes: int = Field(6 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Origins allowed to call the API from a browser; empty means same-origin only (no CORS headers).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Per client address: sustained requests per minute and burst, for login and public verification.
    login_rate_per_minute: float = Field(10.0, gt=0)
    login_burst: int = Field(10, ge=1)
    verify_rate_per_minute: float = Field(30.0, gt=0)
    verify_burst: int = Field(30, ge=1)
    # Behind an ingress or load balancer, the client is the first X-Forwarded-For address.
    trust_forwarded_for: bool = False

    # Class archives (docs/gateway.md): rulebook documents to find a class's version in (as the
    # RULEBOOK setting of courses: `default`, `demo` or file paths, comma-separated), exports built
    # at once, and how long a finished export stays downloadable. Jobs live in this process.
    archive_rulebooks: str = "default,demo"
    archive_max_running: int = Field(2, ge=1, le=16)
    archive_keep_seconds: float = Field(3600.0, ge=60)

    # Media stores the lesson player reads `media://<store>/<path>` from (see parse_media_roots).
    media_roots: str = ""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):  # GATEWAY_CORS_ORIGINS=https://a.example,https://b.example
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("required_services", mode="before")
    @classmethod
    def _services_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("required_services")
    @classmethod
    def _known_services(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SERVICES))
        if unknown:
            raise ValueError(f"unknown services {', '.join(unknown)}; known: {', '.join(SERVICES)}")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _explicit_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin == "*" or not origin.startswith(("http://", "https://")):
                raise ValueError("must list explicit http(s) origins, never '*'")
        return value

    @field_validator("media_roots")
    @classmethod
    def _media(cls, value: str) -> str:
        parse_media_roots(value)
        return value

    @property
    def media(self) -> dict[str, Path]:
        return parse_media_roots(self.media_roots)
