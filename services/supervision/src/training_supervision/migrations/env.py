"""Alembic environment for supervision (see training_runtime.migrations)."""

from training_runtime.migrations import run_env
from training_supervision.persistence.tables import metadata

run_env(metadata)
