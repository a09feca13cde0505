"""Test kit: real infrastructure for tests (see `training_testkit.plugin` for the fixtures)."""

from training_testkit.infra import PostgresServer, TestDatabases
from training_testkit.services import running_app, wait_until

__all__ = ["PostgresServer", "TestDatabases", "running_app", "wait_until"]
