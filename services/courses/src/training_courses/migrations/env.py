"""Alembic environment for courses (see training_runtime.migrations)."""

from training_courses.persistence.tables import metadata
from training_runtime.migrations import run_env

run_env(metadata)
