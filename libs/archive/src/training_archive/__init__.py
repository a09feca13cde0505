"""The class archive (一期一档): for one training class, one ZIP holding the whole record as JSON,
the face-check snapshots the caller may see, a PDF summary and a manifest of SHA-256 digests, with
the chain heads and links that prove the records complete (docs/records.md)."""

from training_archive.builder import ArchiveBuilder, ArchiveRefused, Progress, ServiceTargets
from training_archive.package import SCHEMA_VERSION, ClassArchive

__all__ = ["SCHEMA_VERSION", "ArchiveBuilder", "ArchiveRefused", "ClassArchive", "Progress", "ServiceTargets"]
