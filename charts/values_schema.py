"""Write every chart's values.schema.json from one definition: `python charts/values_schema.py [--check]`.

The service charts' values share one structure (the library chart renders them all), so their schemas
come from here instead of from hand-kept copies. Per chart, the secret settings its values.yaml names
under `secretEnv` become required, and a `faceWorkers` block is allowed where values.yaml has one
(identity). The umbrella chart's schema covers `global` and each service's `enabled`. With `--check`
nothing is written and the exit status says whether every committed schema is up to date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from training_events.__main__ import CONTEXTS

CHARTS = Path(__file__).resolve().parent
UMBRELLA = "training-platform"
LIBRARY = "training-lib"

# Settings the chart sets itself (from its own values or from Secrets): never in `secretEnv`.
CHART_OWNED_SETTINGS = [
    "GRPC_PORT",
    "SHUTDOWN_GRACE_SECONDS",
    "NATS_STREAM_REPLICAS",
    "FACE_WORKERS",
    "DATABASE_URL",
    "NATS_URL",
    "NATS_USER",
    "NATS_PASSWORD",
    "NATS_TOKEN",
]
ENV_NAME = "^[A-Z][A-Z0-9_]*$"


def _object(properties: dict[str, Any], *, required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if required is not None:
        schema["required"] = required
    schema.update(extra)
    return schema


def _all_required(properties: dict[str, Any], *, optional: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """Every property required except `optional` ones (Helm drops keys whose value is null)."""
    return _object(properties, required=sorted(set(properties) - set(optional)), **extra)


def _integer(minimum: int, maximum: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECTS = {"type": "array", "items": {"type": "object"}}
PORT = _integer(1, 65535)


def _hook_job(switch: str) -> dict[str, Any]:
    return _all_required(
        {
            switch: BOOLEAN,
            "backoffLimit": _integer(0, 10),
            "activeDeadlineSeconds": _integer(30),
            "resources": {"$ref": "#/$defs/resources"},
        }
    )


def definitions() -> dict[str, Any]:
    quantity = {
        "anyOf": [
            {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"},
            {"type": "number", "minimum": 0},
        ]
    }
    resource_list = {
        "type": "object",
        "propertyNames": {"enum": ["cpu", "memory", "ephemeral-storage"]},
        "additionalProperties": {"$ref": "#/$defs/quantity"},
    }
    return {
        "quantity": quantity,
        "secretRef": _all_required(
            {
                "name": {"type": "string", "description": "An existing Secret (created before the install)."},
                "key": {"type": "string", "description": "The key in that Secret."},
            },
            description="A key of an existing Secret; secret values never appear in values or manifests.",
        ),
        "resources": _object(
            {
                "requests": {"allOf": [resource_list], "required": ["cpu", "memory"]},
                "limits": {"allOf": [resource_list], "required": ["memory"]},
            },
            required=["requests", "limits"],
        ),
        "probe": _all_required(
            {"periodSeconds": _integer(1), "timeoutSeconds": _integer(1), "failureThreshold": _integer(1)}
        ),
        "networkServer": _all_required(
            {"port": PORT, "networkPeers": {**OBJECTS, "description": "NetworkPolicy peers; empty: any address."}}
        ),
        "global": _all_required(
            {
                "imageRegistry": STRING,
                "imageTag": STRING,
                "imagePullSecrets": {"type": "array", "items": STRING},
                "identityAddress": {"type": "string", "minLength": 1, "description": "host:port of identity."},
                "nats": _all_required(
                    {
                        "url": {"$ref": "#/$defs/secretRef"},
                        "user": {"$ref": "#/$defs/secretRef"},
                        "password": {"$ref": "#/$defs/secretRef"},
                        "token": {"$ref": "#/$defs/secretRef"},
                        "streamReplicas": _integer(1, 5),
                        "port": PORT,
                        "networkPeers": OBJECTS,
                    }
                ),
                "postgresql": {"$ref": "#/$defs/networkServer"},
                "networkPolicy": _all_required({"enabled": BOOLEAN, "dnsPeers": OBJECTS}),
            }
        ),
    }


def service_schema(values: dict[str, Any]) -> dict[str, Any]:
    secret_names = sorted(values.get("secretEnv") or {})
    http_app = "httpPort" in (values.get("app") or {})
    app_facts = (
        # An HTTP app (the gateway): no database, no streams, no hook Jobs.
        {"envPrefix": {"type": "string", "pattern": "^[A-Z]+_$"}, "httpPort": PORT}
        if http_app
        else {
            "envPrefix": {"type": "string", "pattern": "^[A-Z]+_$"},
            "grpcPort": PORT,
            "grpcService": {"type": "string", "pattern": "^training\\.[a-z]+\\.v[0-9]+\\.[A-Za-z]+$"},
            "streams": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": list(CONTEXTS)},
            },
        }
    )
    properties: dict[str, Any] = {
        "app": _all_required(app_facts, description="Facts about the service; they change only with its code."),
        "image": _all_required(
            {
                "repository": STRING,
                "tag": STRING,
                "digest": {"type": "string", "pattern": "^(sha256:[a-f0-9]{64})?$"},
                "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
                "pullSecrets": {"type": "array", "items": STRING},
            }
        ),
        "global": {"$ref": "#/$defs/global"},
        "database": _all_required({"url": {"$ref": "#/$defs/secretRef"}}),
        "secretEnv": {
            "type": "object",
            "properties": {name: {"$ref": "#/$defs/secretRef"} for name in secret_names},
            "required": secret_names,
            "propertyNames": {"pattern": ENV_NAME, "not": {"enum": CHART_OWNED_SETTINGS}},
            "additionalProperties": {"$ref": "#/$defs/secretRef"},
        },
        "config": {
            "type": "object",
            "description": "Non-secret settings, without the prefix. Secrets go in secretEnv.",
            # Names the chart owns or that look like secrets are refused by the templates, with a message.
            "propertyNames": {"pattern": ENV_NAME},
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        },
        "resources": {"$ref": "#/$defs/resources"},
        "replicaCount": _integer(1),
        "autoscaling": _all_required(
            {
                "enabled": BOOLEAN,
                "minReplicas": _integer(1),
                "maxReplicas": _integer(1),
                "targetCPUUtilizationPercentage": _integer(1, 100),
                "targetMemoryUtilizationPercentage": {"anyOf": [{"type": "null"}, _integer(1, 100)]},
                "scaleDownStabilizationSeconds": _integer(0, 3600),
            },
            optional=("targetMemoryUtilizationPercentage",),
        ),
        "podDisruptionBudget": _all_required(
            {
                "enabled": BOOLEAN,
                "maxUnavailable": {"anyOf": [_integer(0), {"type": "string", "pattern": "^[0-9]+%$"}]},
                "minAvailable": {"anyOf": [{"type": "null"}, _integer(0), {"type": "string", "pattern": "^[0-9]+%$"}]},
            },
            optional=("minAvailable",),
        ),
        "shutdownGraceSeconds": {"type": "number", "exclusiveMinimum": 0},
        "preStopSleepSeconds": _integer(0, 60),
        "terminationMarginSeconds": _integer(5, 300),
        "probes": _all_required(
            {
                "startup": {"$ref": "#/$defs/probe"},
                "liveness": {"$ref": "#/$defs/probe"},
                "readiness": {"$ref": "#/$defs/probe"},
            }
        ),
        "migrations": _hook_job("enabled"),
        "streams": _hook_job("provision"),
        "ingress": _all_required(
            {
                "enabled": BOOLEAN,
                "className": STRING,
                "annotations": STRING_MAP,
                "hosts": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "tls": OBJECTS,
            },
            description="The opt-in Ingress of an HTTP app.",
        ),
        "networkPolicy": _all_required({"enabled": BOOLEAN, "extraIngress": OBJECTS, "extraEgress": OBJECTS}),
        "serviceAccount": _all_required({"create": BOOLEAN, "name": STRING, "annotations": STRING_MAP}),
        "podSecurityContext": _all_required(
            {"runAsUser": _integer(1), "runAsGroup": _integer(1), "fsGroup": _integer(1)}
        ),
        "tmpSizeLimit": {"type": "string", "pattern": "^[0-9]+(Ki|Mi|Gi)$"},
        "service": _all_required(
            {
                "annotations": STRING_MAP,
                "sessionAffinity": {"enum": ["None", "ClientIP"]},
                "sessionAffinityTimeoutSeconds": _integer(1, 86400),
            },
            optional=("sessionAffinity", "sessionAffinityTimeoutSeconds"),
        ),
        "podAnnotations": STRING_MAP,
        "podLabels": STRING_MAP,
        "priorityClassName": STRING,
        "nodeSelector": STRING_MAP,
        "tolerations": OBJECTS,
        "affinity": {"type": "object"},
        "topologySpreadConstraints": OBJECTS,
        "nameOverride": STRING,
        "fullnameOverride": STRING,
    }
    if http_app:
        for name in ("database", "migrations", "streams"):
            del properties[name]
    else:
        del properties["ingress"]
    if "faceWorkers" in values:
        per_worker = {
            "type": "object",
            "propertyNames": {"enum": ["cpu", "memory"]},
            "additionalProperties": {"$ref": "#/$defs/quantity"},
        }
        properties["faceWorkers"] = _all_required(
            {
                "workers": _integer(1, 64),
                "resourcesPerWorker": _object({"requests": per_worker, "limits": per_worker}, required=["requests"]),
            },
            description="Face-matching worker processes inside the container; each adds resourcesPerWorker.",
        )
    required = sorted(properties)
    # Set by the umbrella chart (its dependency condition) and by Helm for the library dependency.
    properties["enabled"] = BOOLEAN
    properties[LIBRARY] = {"type": "object"}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Values of a training platform service chart (generated by charts/values_schema.py)",
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
        "$defs": definitions(),
    }


def umbrella_schema(services: list[str]) -> dict[str, Any]:
    service = {
        "type": "object",
        "description": "The service chart's values (its own schema checks them).",
        "properties": {"enabled": BOOLEAN},
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Values of the training-platform umbrella chart (generated by charts/values_schema.py)",
        "type": "object",
        "additionalProperties": False,
        "properties": {"global": {"$ref": "#/$defs/global"}, **{name: service for name in services}},
        "$defs": definitions(),
    }


def service_charts() -> list[str]:
    """The application charts the umbrella installs, in its Chart.yaml's order."""
    chart = yaml.safe_load((CHARTS / UMBRELLA / "Chart.yaml").read_text())
    return [dependency["name"] for dependency in chart["dependencies"]]


def expected_schemas() -> dict[Path, str]:
    services = service_charts()
    schemas = {CHARTS / UMBRELLA / "values.schema.json": umbrella_schema(services)}
    for name in services:
        values = yaml.safe_load((CHARTS / name / "values.yaml").read_text())
        schemas[CHARTS / name / "values.schema.json"] = service_schema(values)
    return {path: json.dumps(schema, indent=2) + "\n" for path, schema in schemas.items()}


def main() -> None:
    check = sys.argv[1:] == ["--check"]
    stale = []
    for path, text in expected_schemas().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path.relative_to(CHARTS.parent))
            if not check:
                path.write_text(text)
    if check and stale:
        raise SystemExit("out of date (run `make charts`): " + ", ".join(map(str, stale)))
    print(("checked " if check else "wrote ") + f"{len(expected_schemas())} schemas")


if __name__ == "__main__":
    main()
