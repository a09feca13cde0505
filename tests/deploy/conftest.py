"""The deployment checks' fixtures: a built copy of charts/, rendered and linted with Helm's own SDK.

helm-python-sdk binds Helm v4's Go SDK, so rendering here is what `helm install` does offline: the
same template engine, value coalescing and values.schema.json validation. The charts' `file://`
dependencies are resolved as `helm dependency update` does, into a temporary copy of charts/ (the
library into each service chart first, then the service charts into the umbrella), so the working tree
is left alone.

Tests that take a `value_set` run for every application chart with its defaults and with each of its
`ci/*.yaml` files; `service_chart` is every chart built on the library; `app_chart` adds the umbrella.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
UMBRELLA = "training-platform"
# The newest Kubernetes release whose schemas kubernetes-validate ships (1.37); lint targets it too.
KUBERNETES_VERSION = "1.37.0"
RELEASE = "training"
NAMESPACE = "training"


def _chart_type(name: str) -> str:
    return yaml.safe_load((CHARTS / name / "Chart.yaml").read_text()).get("type", "application")


def application_charts() -> list[str]:
    names = sorted(p.parent.name for p in CHARTS.glob("*/Chart.yaml"))
    return [name for name in names if _chart_type(name) == "application"]


def service_charts() -> list[str]:
    return [name for name in application_charts() if name != UMBRELLA]


@dataclass(frozen=True)
class ValueSet:
    """A chart with its defaults (`file` None) or with one of its ci/*.yaml files."""

    chart: str
    file: Path | None = None

    @property
    def id(self) -> str:
        return f"{self.chart}:{self.file.name if self.file else 'defaults'}"

    def values(self) -> dict[str, Any] | None:
        return helm.values_from_yaml(self.file.read_text()) if self.file else None


def value_sets() -> list[ValueSet]:
    sets = []
    for chart in application_charts():
        sets.append(ValueSet(chart))
        sets.extend(ValueSet(chart, f) for f in sorted((CHARTS / chart / "ci").glob("*.yaml")))
    return sets


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "value_set" in metafunc.fixturenames:
        sets = value_sets()
        metafunc.parametrize("value_set", sets, ids=[s.id for s in sets])
    if "service_chart" in metafunc.fixturenames:
        metafunc.parametrize("service_chart", service_charts())
    if "app_chart" in metafunc.fixturenames:
        metafunc.parametrize("app_chart", application_charts())


@dataclass
class Manifests:
    """The Kubernetes objects one render produced (hooks included), parsed."""

    objects: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        matches = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
        return matches[0]

    def workloads(self) -> list[dict[str, Any]]:
        """Everything that runs pods: the services' Deployments and the hook Jobs."""
        return self.of_kind("Deployment") + self.of_kind("Job")

    @staticmethod
    def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
        return workload["spec"]["template"]["spec"]

    @classmethod
    def containers(cls, workload: dict[str, Any]) -> list[dict[str, Any]]:
        spec = cls.pod_spec(workload)
        return spec["containers"] + spec.get("initContainers", [])

    @staticmethod
    def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {e["name"]: e for e in container.get("env", [])}

    def settings_of(self, deployment: dict[str, Any]) -> dict[str, str]:
        """The ConfigMap data a server's container takes its non-secret settings from."""
        (source,) = self.containers(deployment)[0]["envFrom"]
        return self.named("ConfigMap", source["configMapRef"]["name"])["data"]


def parse(rendered: dict[str, str]) -> Manifests:
    objects = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Manifests(objects)


@dataclass
class ChartWorkspace:
    """A copy of charts/ whose dependencies are built; renders and lints its charts."""

    root: Path
    source: Path = CHARTS
    kubernetes_version: str = KUBERNETES_VERSION
    _cache: dict[ValueSet, Manifests] = field(default_factory=dict)

    def path(self, chart: str) -> Path:
        return self.root / chart

    def render(
        self, chart: str, values: dict[str, Any] | None = None, *, release: str = RELEASE, upgrade: bool = False
    ) -> Manifests:
        with helm.Chart.load(self.path(chart)) as loaded:
            rendered = loaded.render(
                values, name=release, namespace=NAMESPACE, is_install=not upgrade, is_upgrade=upgrade
            )
        return parse(rendered)

    def render_set(self, value_set: ValueSet) -> Manifests:
        if value_set not in self._cache:
            self._cache[value_set] = self.render(value_set.chart, value_set.values())
        return self._cache[value_set]

    def values(self, chart: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The values an install would use (chart defaults coalesced with `overrides`)."""
        with helm.Chart.load(self.path(chart)) as loaded:
            return loaded.merge_values(overrides or {})

    def service_values(self, value_set: ValueSet) -> list[dict[str, Any]]:
        """The coalesced values of each service chart the value set installs (one, or the umbrella's enabled)."""
        values = self.values(value_set.chart, value_set.values())
        if value_set.chart != UMBRELLA:
            return [values]
        return [values[name] for name in service_charts() if values[name].get("enabled", True)]

    def lint(self, value_set: ValueSet) -> dict[str, Any]:
        return helm.lint(
            self.path(value_set.chart),
            value_set.values(),
            strict=True,
            namespace=NAMESPACE,
            kube_version=f"v{KUBERNETES_VERSION}",
        )


@pytest.fixture(scope="session")
def charts(tmp_path_factory: pytest.TempPathFactory) -> ChartWorkspace:
    root = tmp_path_factory.mktemp("charts") / "charts"
    shutil.copytree(CHARTS, root, ignore=shutil.ignore_patterns("charts", "Chart.lock", "*.tgz", "*.py"))
    # Service charts first: the umbrella packages each of them together with its built dependencies.
    for chart in [*service_charts(), UMBRELLA]:
        helm.dependency_update(root / chart)
    return ChartWorkspace(root)
