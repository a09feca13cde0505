"""The charts agree with the services they deploy: the settings they pass exist in the service's
settings class and cover its required ones, the port, health name and streams are the service's own,
identity's face-worker pool raises its container's resources, and the other services find identity
whatever the umbrella release is called. A service whose code is not in this checkout yet is skipped
(its chart is built from the published contract) and checked as soon as it lands."""

from __future__ import annotations

import importlib
import importlib.util
import inspect

import pytest

from training_runtime.settings import ServiceSettings


def service_code(name: str):
    if importlib.util.find_spec(f"training_{name}") is None:
        pytest.skip(f"training_{name} is not in this checkout yet")
    settings_module = importlib.import_module(f"training_{name}.settings")
    (settings,) = [
        cls
        for _, cls in inspect.getmembers(settings_module, inspect.isclass)
        if issubclass(cls, ServiceSettings)
        and cls is not ServiceSettings
        and cls.__module__ == settings_module.__name__
    ]
    service_module = importlib.import_module(f"training_{name}.service")
    (definition,) = [
        cls
        for _, cls in inspect.getmembers(service_module, inspect.isclass)
        if getattr(cls, "name", None) == name and isinstance(getattr(cls, "grpc_service", None), str)
    ]
    return settings, definition


def chart_settings(values: dict) -> set[str]:
    """Every setting (without prefix) the chart passes to the service."""
    owned = {"DATABASE_URL", "NATS_URL", "NATS_USER", "NATS_PASSWORD", "NATS_TOKEN", "GRPC_PORT"}
    owned |= {"SHUTDOWN_GRACE_SECONDS", "NATS_STREAM_REPLICAS"}
    return owned | set(values["secretEnv"]) | set(values["config"])


def test_chart_facts_are_the_services(charts, service_chart) -> None:
    settings, definition = service_code(service_chart)
    app = charts.values(service_chart)["app"]

    assert app["envPrefix"] == settings.model_config["env_prefix"]
    assert app["grpcPort"] == settings.model_fields["grpc_port"].default
    assert app["grpcService"] == definition.grpc_service
    assert set(app["streams"]) == {definition.name, *definition.consumes}


def test_chart_passes_only_settings_the_service_has(charts, service_chart) -> None:
    settings, _ = service_code(service_chart)
    fields = {name.upper() for name in settings.model_fields}

    assert chart_settings(charts.values(service_chart)) - fields == set()


def test_chart_provides_every_required_setting(charts, service_chart) -> None:
    settings, _ = service_code(service_chart)
    required = {name.upper() for name, field in settings.model_fields.items() if field.is_required()}

    assert required - chart_settings(charts.values(service_chart)) == set()


def test_face_worker_count_reaches_an_identity_setting(charts) -> None:
    settings, _ = service_code("identity")
    if "face_workers" not in settings.model_fields:
        pytest.skip("identity's face-matching settings are not in this checkout yet")

    manifests = charts.render("identity")
    settings_passed = manifests.settings_of(manifests.named("Deployment", "training-identity"))
    assert settings_passed["IDENTITY_FACE_WORKERS"] == str(charts.values("identity")["faceWorkers"]["workers"])


def test_face_workers_raise_identity_container_resources(charts) -> None:
    per_worker = {"requests": {"cpu": "750m", "memory": "512Mi"}, "limits": {"cpu": "1.5", "memory": "1Gi"}}
    values = {
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "faceWorkers": {"workers": 3, "resourcesPerWorker": per_worker},
    }
    manifests = charts.render("identity", values)
    deployment = manifests.named("Deployment", "training-identity")
    (container,) = manifests.containers(deployment)

    assert container["resources"] == {
        "requests": {"cpu": "2500m", "memory": "1792Mi"},
        "limits": {"cpu": "5500m", "memory": "3584Mi"},
    }
    assert manifests.settings_of(deployment)["IDENTITY_FACE_WORKERS"] == "3"


def test_other_services_find_identity_under_any_umbrella_release_name(charts) -> None:
    manifests = charts.render("training-platform", release="safety")

    identity = manifests.named("Service", "safety-identity")
    assert identity["spec"]["ports"][0]["port"] == 50051
    for name in ("courses", "learning", "exams", "certificates", "supervision"):
        settings = manifests.named("ConfigMap", f"safety-{name}")["data"]
        assert settings[f"{name.upper()}_IDENTITY_URL"] == "safety-identity:50051"


def test_supervision_finds_the_owning_services_under_any_umbrella_release_name(charts) -> None:
    manifests = charts.render("training-platform", release="safety")

    settings = manifests.named("ConfigMap", "safety-supervision")["data"]
    for name, port in (("courses", 50052), ("learning", 50053), ("certificates", 50055)):
        service = manifests.named("Service", f"safety-{name}")
        assert service["spec"]["ports"][0]["port"] == port
        assert settings[f"SUPERVISION_{name.upper()}_URL"] == f"safety-{name}:{port}"


def test_upgrade_runs_the_same_hooks_as_install(charts, app_chart) -> None:
    installed = charts.render(app_chart).of_kind("Job")
    upgraded = charts.render(app_chart, upgrade=True).of_kind("Job")

    assert [j["metadata"]["name"] for j in upgraded] == [j["metadata"]["name"] for j in installed]
    assert installed
