"""The export command's settings (environment variables prefixed ARCHIVE_); the defaults are the
addresses `make run` starts the services on."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from training_archive.builder import ServiceTargets


class ArchiveSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARCHIVE_", extra="ignore")

    identity_url: str = "127.0.0.1:50051"
    courses_url: str = "127.0.0.1:50052"
    learning_url: str = "127.0.0.1:50053"
    exams_url: str = "127.0.0.1:50054"
    certificates_url: str = "127.0.0.1:50055"
    supervision_url: str = "127.0.0.1:50056"
    # Rulebook documents to find the class's version in: `default`, `demo` or file paths, comma-separated.
    rulebooks: str = "default,demo"
    # An access token; otherwise the command signs in with ARCHIVE_LOGIN and ARCHIVE_PASSWORD (or asks).
    token: str = ""
    login: str = ""
    password: str = ""
    timeout_seconds: float = 30.0

    @property
    def targets(self) -> ServiceTargets:
        return ServiceTargets(
            identity=self.identity_url,
            courses=self.courses_url,
            learning=self.learning_url,
            exams=self.exams_url,
            certificates=self.certificates_url,
            supervision=self.supervision_url,
        )

    @property
    def rulebook_specs(self) -> list[str]:
        return [part.strip() for part in self.rulebooks.split(",") if part.strip()]
