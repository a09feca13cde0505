"""Every chart, with its defaults and each ci/*.yaml value set: Helm lints it cleanly, every manifest is
valid for the current Kubernetes release (strict schemas: unknown fields fail), and every workload keeps
the deployment invariants (gRPC health probes, or /healthz and /readyz for the HTTP gateway, hardened
pods, resources, secrets only by reference, termination grace longer than the shutdown grace, hook Jobs
before install and upgrade, the gateway's Ingress only when asked for)."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest

# Settings whose values are secrets wherever they appear (with or without the service prefix).
SECRET_SETTING = re.compile(r"(DATABASE_URL|NATS_URL|NATS_USER|PASSWORD|TOKEN|SECRET|_KEY|_KEYS|_CLIENTS)$")
# The one writable path of a read-only root filesystem.
WRITABLE_TMP = "/tmp"  # noqa: S108
URL_WITH_CREDENTIALS = re.compile(r"[a-z+]+://[^/\s:@]+:[^/\s@]+@")


def test_chart_lints_cleanly(charts, value_set) -> None:
    report = charts.lint(value_set)

    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == [], problems
    assert report["errors"] == []


def test_every_manifest_is_valid_for_current_kubernetes(charts, value_set) -> None:
    manifests = charts.render_set(value_set)

    assert manifests.objects, "the chart rendered nothing"
    for obj in manifests.objects:
        try:
            kubernetes_validate.validate(obj, charts.kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {exc.message} at {list(exc.path)}")


def app_key(values: dict) -> str:
    """What tells one server from another: its gRPC service, or an HTTP app's settings prefix."""
    return values["app"].get("grpcService") or values["app"]["envPrefix"]


def deployment_key(manifests, deployment: dict) -> str:
    (container,) = manifests.containers(deployment)
    probe = container["readinessProbe"]
    if "grpc" in probe:
        return probe["grpc"]["service"]
    (port_setting,) = [k for k in manifests.settings_of(deployment) if k.endswith("_HTTP_PORT")]
    return port_setting.removesuffix("HTTP_PORT")


def test_servers_probe_grpc_health(charts, value_set) -> None:
    manifests = charts.render_set(value_set)

    for deployment in manifests.of_kind("Deployment"):
        (container,) = manifests.containers(deployment)
        if [p["name"] for p in container["ports"]] == ["http"]:
            continue  # an HTTP app: test_http_apps_probe_healthz_and_readyz
        (port,) = [p["containerPort"] for p in container["ports"] if p["name"] == "grpc"]
        probes = {kind: container[f"{kind}Probe"] for kind in ("startup", "liveness", "readiness")}
        for kind, probe in probes.items():
            assert set(probe) - {"periodSeconds", "timeoutSeconds", "failureThreshold"} == {"grpc"}, kind
            assert probe["grpc"]["port"] == port, kind
        # Liveness and start-up ask whether the process answers; readiness whether it can serve calls.
        assert probes["startup"]["grpc"]["service"] == "liveness"
        assert probes["liveness"]["grpc"]["service"] == "liveness"
        assert re.fullmatch(r"training\.[a-z]+\.v1\.[A-Za-z]+Service", probes["readiness"]["grpc"]["service"])


def test_http_apps_probe_healthz_and_readyz(charts, value_set) -> None:
    manifests = charts.render_set(value_set)
    http_apps = [s for s in charts.service_values(value_set) if "httpPort" in s["app"]]

    checked = 0
    for deployment in manifests.of_kind("Deployment"):
        (container,) = manifests.containers(deployment)
        if [p["name"] for p in container["ports"]] != ["http"]:
            continue
        checked += 1
        probes = {kind: container[f"{kind}Probe"] for kind in ("startup", "liveness", "readiness")}
        for kind, probe in probes.items():
            assert set(probe) - {"periodSeconds", "timeoutSeconds", "failureThreshold"} == {"httpGet"}, kind
            assert probe["httpGet"]["port"] == "http", kind
        # Alive while the process answers; ready while the services it needs answer.
        assert probes["startup"]["httpGet"]["path"] == "/healthz"
        assert probes["liveness"]["httpGet"]["path"] == "/healthz"
        assert probes["readiness"]["httpGet"]["path"] == "/readyz"
    assert checked == len(http_apps)


def test_the_ingress_is_opt_in_and_routes_every_host_to_the_http_port(charts, value_set) -> None:
    manifests = charts.render_set(value_set)
    wanted = [s for s in charts.service_values(value_set) if (s.get("ingress") or {}).get("enabled")]

    ingresses = manifests.of_kind("Ingress")
    assert len(ingresses) == len(wanted)
    for ingress, values in zip(ingresses, wanted, strict=True):
        assert [rule["host"] for rule in ingress["spec"]["rules"]] == values["ingress"]["hosts"]
        service = manifests.named("Service", ingress["metadata"]["name"])
        for rule in ingress["spec"]["rules"]:
            (path,) = rule["http"]["paths"]
            assert path["backend"]["service"] == {"name": service["metadata"]["name"], "port": {"name": "http"}}
        assert ingress["spec"].get("tls", []) == values["ingress"]["tls"]


def test_a_browser_stays_on_one_gateway_replica(charts, value_set) -> None:
    """Class-archive exports live in the gateway replica that started them (docs/gateway.md): the
    Service keeps a client on one replica, and so does the Ingress (ingress-nginx's cookie)."""
    manifests = charts.render_set(value_set)
    for values in charts.service_values(value_set):
        if "httpPort" not in values["app"]:
            continue
        name = next(
            d["metadata"]["name"]
            for d in manifests.of_kind("Deployment")
            if [p["name"] for p in manifests.containers(d)[0]["ports"]] == ["http"]
        )
        service = manifests.named("Service", name)
        assert service["spec"]["sessionAffinity"] == "ClientIP"
        assert service["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] > 0
        for ingress in manifests.of_kind("Ingress"):
            assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    for service in manifests.of_kind("Service"):
        if any(p["name"] == "grpc" for p in service["spec"]["ports"]):
            assert "sessionAffinity" not in service["spec"]  # gRPC clients hold their connections anyway


def test_every_pod_is_hardened(charts, value_set) -> None:
    manifests = charts.render_set(value_set)

    assert manifests.workloads()
    for workload in manifests.workloads():
        spec = manifests.pod_spec(workload)
        name = workload["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] > 0, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(host_namespace), name
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in manifests.containers(workload):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["runAsNonRoot"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert context.get("privileged", False) is False, name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get(WRITABLE_TMP) in tmp_volumes, f"{name}: /tmp must be a writable emptyDir"


def test_every_container_has_resources(charts, value_set) -> None:
    manifests = charts.render_set(value_set)

    for workload in manifests.workloads():
        for container in manifests.containers(workload):
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), workload["metadata"]["name"]
            assert "memory" in resources["limits"], workload["metadata"]["name"]


def test_secrets_are_only_referenced(charts, value_set) -> None:
    manifests = charts.render_set(value_set)

    assert manifests.of_kind("Secret") == []
    for workload in manifests.workloads():
        for container in manifests.containers(workload):
            for name, variable in manifests.env_of(container).items():
                if SECRET_SETTING.search(name):
                    assert "value" not in variable, f"{workload['metadata']['name']}: {name} is inlined"
                    assert set(variable["valueFrom"]) == {"secretKeyRef"}, name
    for config_map in manifests.of_kind("ConfigMap"):
        leaked = [key for key in config_map["data"] if SECRET_SETTING.search(key)]
        assert leaked == [], f"ConfigMap {config_map['metadata']['name']} holds secrets: {leaked}"
    assert not URL_WITH_CREDENTIALS.search(str(manifests.objects)), "a URL with credentials is inlined"


def test_database_and_nats_come_from_secrets(charts, value_set) -> None:
    manifests = charts.render_set(value_set)

    for deployment in manifests.of_kind("Deployment"):
        (container,) = manifests.containers(deployment)
        names = set(manifests.env_of(container))
        settings = manifests.settings_of(deployment)
        http = next((n for n in settings if n.endswith("_HTTP_PORT")), None)
        if http is not None:  # an HTTP app (the gateway) holds no data and no streams
            prefix = http.removesuffix("HTTP_PORT")
            assert not {f"{prefix}DATABASE_URL", f"{prefix}NATS_URL"} & names
            continue
        prefix = next(n for n in settings if n.endswith("GRPC_PORT")).removesuffix("GRPC_PORT")
        assert {f"{prefix}DATABASE_URL", f"{prefix}NATS_URL"} <= names


def test_termination_grace_outlasts_the_shutdown_grace(charts, value_set) -> None:
    manifests = charts.render_set(value_set)

    for deployment in manifests.of_kind("Deployment"):
        (container,) = manifests.containers(deployment)
        settings = manifests.settings_of(deployment)
        (shutdown_grace,) = [float(v) for k, v in settings.items() if k.endswith("_SHUTDOWN_GRACE_SECONDS")]
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        assert manifests.pod_spec(deployment)["terminationGracePeriodSeconds"] > pre_stop + shutdown_grace


def test_hook_jobs_run_before_install_and_upgrade(charts, value_set) -> None:
    manifests = charts.render_set(value_set)
    services = charts.service_values(value_set)

    jobs: dict[str, list[dict]] = {"migration": [], "streams": []}
    for job in manifests.of_kind("Job"):
        jobs[job["metadata"]["labels"]["app.kubernetes.io/component"]].append(job)
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
        assert manifests.pod_spec(job)["restartPolicy"] == "Never"
    assert len(jobs["migration"]) == sum(1 for s in services if s.get("migrations", {}).get("enabled"))
    assert len(jobs["streams"]) == sum(1 for s in services if s.get("streams", {}).get("provision"))
    for job in jobs["migration"]:
        (container,) = manifests.containers(job)
        # The image's entrypoint runs the service's module; `migrate` is its Alembic upgrade command.
        assert container["args"] == ["migrate"]
        assert "command" not in container
        assert any(n.endswith("_DATABASE_URL") for n in manifests.env_of(container))
    for job in jobs["streams"]:
        (container,) = manifests.containers(job)
        assert container["command"][:4] == ["python", "-m", "training_events", "provision"]
        assert "NATS_URL" in manifests.env_of(container)
    weights = {c: [int(j["metadata"]["annotations"]["helm.sh/hook-weight"]) for j in js] for c, js in jobs.items()}
    if weights["streams"] and weights["migration"]:
        assert max(weights["streams"]) < min(weights["migration"]), "streams must exist before services migrate"


def test_every_server_has_its_objects(charts, value_set) -> None:
    manifests = charts.render_set(value_set)
    services = {app_key(s): s for s in charts.service_values(value_set)}

    assert len(manifests.of_kind("Deployment")) == len(services)
    for deployment in manifests.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        values = services[deployment_key(manifests, deployment)]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        service = manifests.named("Service", name)
        assert service["spec"]["selector"] == selector
        port = ("httpPort", "http") if "httpPort" in values["app"] else ("grpcPort", "grpc")
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(values["app"][port[0]], port[1])]
        manifests.settings_of(deployment)
        account = manifests.pod_spec(deployment)["serviceAccountName"]
        if values["serviceAccount"]["create"]:
            manifests.named("ServiceAccount", account)
        else:
            assert account == values["serviceAccount"]["name"]
        pdbs = [p for p in manifests.of_kind("PodDisruptionBudget") if p["spec"]["selector"]["matchLabels"] == selector]
        assert len(pdbs) == (1 if values["podDisruptionBudget"]["enabled"] else 0)
        hpas = [h for h in manifests.of_kind("HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == name]
        assert len(hpas) == (1 if values["autoscaling"]["enabled"] else 0)
        # With an autoscaler the Deployment leaves the replica count to it (an upgrade must not reset it).
        assert ("replicas" in deployment["spec"]) == (not hpas)


def test_network_policies_follow_the_values_and_cover_every_pod(charts, value_set) -> None:
    manifests = charts.render_set(value_set)
    policies = manifests.of_kind("NetworkPolicy")
    enabled = [
        s
        for s in charts.service_values(value_set)
        if s["networkPolicy"]["enabled"] or s["global"]["networkPolicy"]["enabled"]
    ]

    assert len(policies) == len(enabled)
    services = {app_key(s): s for s in charts.service_values(value_set)}
    for deployment in manifests.of_kind("Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (container,) = manifests.containers(deployment)
        values = services[deployment_key(manifests, deployment)]
        covering = [p for p in policies if p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()]
        assert len(covering) == (1 if values in enabled else 0)
        if not covering:
            continue
        (policy,) = covering
        (port,) = [p["containerPort"] for p in container["ports"]]
        assert {"port": port, "protocol": "TCP"} in policy["spec"]["ingress"][0]["ports"]
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        # The hook Jobs of the same release and service are under the same policy (they reach NATS and PostgreSQL).
        for job in manifests.of_kind("Job"):
            job_labels = job["spec"]["template"]["metadata"]["labels"]
            if job_labels["app.kubernetes.io/name"] == labels["app.kubernetes.io/name"]:
                assert policy["spec"]["podSelector"]["matchLabels"].items() <= job_labels.items()


def test_network_policy_is_opt_in(charts, app_chart) -> None:
    assert charts.render(app_chart).of_kind("NetworkPolicy") == []
