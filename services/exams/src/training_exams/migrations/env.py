"""Alembic environment for exams (see training_runtime.migrations)."""

from training_exams.persistence.tables import metadata
from training_runtime.migrations import run_env

run_env(metadata)
