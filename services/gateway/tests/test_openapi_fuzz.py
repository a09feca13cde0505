"""Schemathesis against the gateway's own /openapi.json with the platform running behind it: every
operation is called with generated valid and invalid requests (anonymously and as a trainee enrolled
in a class); no answer may be a server error, and every answer must match the documented status
codes, content types, headers and schemas. The run's JUnit report is kept under test-output/."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from .conftest import Platform

pytestmark = pytest.mark.slow

REPORTS = Path(__file__).resolve().parents[3] / "test-output" / "schemathesis"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


async def schemathesis(platform: Platform, *options: str, name: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{platform.base_url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "15",
        "--seed",
        "20261129",
        # One worker: the coverage phase's caches are not safe across workers (schemathesis 4.32).
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(REPORTS / f"{name}.xml"),
        "--no-color",
        # Its own client for the rate limits (the gateway trusts X-Forwarded-For here, as behind an
        # ingress), so the browser journey's logins do not share its exhausted bucket.
        "--header",
        f"X-Forwarded-For: 198.51.100.{len(name)}",
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        # Schemathesis keeps a cache in its working directory: under test-output/, not in the repository.
        cwd=REPORTS,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


async def test_every_operation_answers_as_documented_for_a_trainee(platform: Platform) -> None:
    opened = await platform.journey_class()
    trainee = await platform.people.enrolled_trainee()
    enrollment = await platform.campus.enroll(opened, trainee)
    await platform.wait_learning_knows(trainee.token, enrollment.enrollment_id)
    REPORTS.mkdir(parents=True, exist_ok=True)

    status, output = await schemathesis(platform, "--header", f"Authorization: Bearer {trainee.token}", name="trainee")

    (REPORTS / "trainee.txt").write_text(output)
    assert status == 0, output[-6000:]


async def test_every_operation_answers_as_documented_anonymously(platform: Platform) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)

    status, output = await schemathesis(platform, name="anonymous")

    (REPORTS / "anonymous.txt").write_text(output)
    assert status == 0, output[-6000:]
