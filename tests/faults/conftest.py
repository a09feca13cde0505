"""The platform as real processes, shared by the fault tests of this folder (each breaks it and
leaves it whole again), and the staff who set up each test's class."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from .cohort import Staff
from .platform import Platform


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def platform() -> AsyncIterator[Platform]:
    # Not under pytest's basetemp: PostgreSQL runs as its own user (when root) and needs to traverse
    # the parents, which every other pytest session on the machine resets to mode 0700.
    root = Path(tempfile.mkdtemp(prefix="training-faults-"))
    # The services' logs stay in test-output/faults/ for whoever reads a failure.
    logs = Path(__file__).resolve().parents[2] / "test-output" / "faults"
    shutil.rmtree(logs, ignore_errors=True)
    started = Platform(root, logs)
    try:
        await started.start()
        yield started
    finally:
        await started.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def staff(platform: Platform) -> Staff:
    return await Staff(platform).sign_in()


@pytest_asyncio.fixture(loop_scope="session")
async def whole(platform: Platform) -> AsyncIterator[Platform]:
    """The platform, checked to be whole (every service SERVING, the province without faults) after the test."""
    yield platform
    platform.province.set_faults(fail_ratio=0, timeout_ratio=0, slow_ms=0, double_ack=False, reject_ratio=0)
    for name, service in platform.services.items():
        if service.process is None or service.process.poll() is not None:
            await platform.restart(name)
    await platform.all_serving()
