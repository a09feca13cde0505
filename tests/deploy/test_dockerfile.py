"""The image recipe's invariants, checked without a container engine (none is available to the tests):
a pinned base, dependencies only from the lock, protobuf code generated in the build stage, a non-root
user matching the charts, no bytecode written at run time, and an entrypoint that really runs the
service named at build time with the arguments the charts pass."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "Dockerfile"
PINNED_BASE = re.compile(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    parsed = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            parsed.append((keyword.upper(), arguments.strip()))
    return parsed


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions():
        if keyword == "FROM":
            result.append([])
        result[-1].append((keyword, arguments))
    return result


def final_stage() -> list[tuple[str, str]]:
    return stages()[-1]


def arguments_of(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for k, arguments in stage if k == keyword]


def test_every_stage_starts_from_the_pinned_python_base() -> None:
    for stage in stages():
        image = stage[0][1].split()[0]
        assert PINNED_BASE.fullmatch(image), f"{image} is not an exact python:3.11.N-slim-bookworm"


def test_image_is_multi_stage_and_the_runtime_gets_only_the_environment() -> None:
    assert len(stages()) >= 2
    copies = arguments_of(final_stage(), "COPY")
    assert copies == ["--from=build /opt/venv /opt/venv"]


def test_dependencies_come_only_from_the_lock() -> None:
    runs = " ".join(arguments_of(stages()[0], "RUN"))
    installs = re.findall(r"uv pip install [^&]*", runs)

    assert installs, "the build stage installs nothing with uv"
    for install in installs:
        assert "-c requirements.lock" in install, install
    assert "requirements.lock" in " ".join(arguments_of(stages()[0], "COPY"))


def test_build_uses_the_makefiles_uv_release() -> None:
    makefile_version = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M).group(1)

    assert f'pip install "uv=={makefile_version}"' in arguments_of(stages()[0], "RUN")


def test_protobuf_code_is_generated_in_the_build_stage() -> None:
    runs = " ".join(arguments_of(stages()[0], "RUN"))

    assert "libs/protos/protogen.py proto libs/protos/src" in runs
    assert "libs/protos/src/training/" in (REPO / ".dockerignore").read_text().splitlines()


def test_runtime_runs_as_the_non_root_user_the_charts_expect(charts, service_chart) -> None:
    (user,) = arguments_of(final_stage(), "USER")
    uid, _, gid = user.partition(":")
    security = charts.values(service_chart)["podSecurityContext"]

    assert uid.isdigit()
    assert int(uid) > 0
    assert (int(uid), int(gid)) == (security["runAsUser"], security["runAsGroup"])


def test_runtime_writes_no_bytecode() -> None:
    environment = " ".join(arguments_of(final_stage(), "ENV"))

    assert "PYTHONDONTWRITEBYTECODE=1" in environment
    assert "--compile-bytecode" in " ".join(arguments_of(stages()[0], "RUN"))


def test_build_context_leaves_out_environments_and_tests() -> None:
    ignored = (REPO / ".dockerignore").read_text().splitlines()

    rules = [line for line in ignored if line and not line.startswith("#")]
    assert rules[0] == "*", "the context is an allowlist"
    assert "**/tests/" in ignored
    assert not any(line.startswith("!.venv") or line.startswith("!tests") for line in ignored)


def entrypoint() -> list[str]:
    (entry,) = arguments_of(final_stage(), "ENTRYPOINT")
    return json.loads(entry)


def test_default_command_serves() -> None:
    (command,) = arguments_of(final_stage(), "CMD")
    assert json.loads(command) == ["serve"]


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_entrypoint_runs_the_built_service_with_the_charts_arguments(command: str) -> None:
    # The image's ENV names the service; the venv's python stands in for the image's /opt/venv.
    environment = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TRAINING_SERVICE": "identity",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [*entrypoint(), command, "--help"], env=environment, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m training_identity {command}")
