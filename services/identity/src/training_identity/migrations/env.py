"""Alembic environment for identity (see training_runtime.migrations)."""

from training_identity.persistence.tables import metadata
from training_runtime.migrations import run_env

run_env(metadata)
