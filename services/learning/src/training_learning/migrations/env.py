"""Alembic environment for learning (see training_runtime.migrations)."""

from training_learning.persistence.tables import metadata
from training_runtime.migrations import run_env

run_env(metadata)
