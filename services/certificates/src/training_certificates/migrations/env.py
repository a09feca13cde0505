"""Alembic environment for certificates (see training_runtime.migrations)."""

from training_certificates.persistence.tables import metadata
from training_runtime.migrations import run_env

run_env(metadata)
