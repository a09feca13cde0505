"""Operating the gateway: readiness follows the services it needs and a shutdown, one trace runs
from the HTTP request through the gRPC call into the service, and graceful shutdown finishes the
requests in flight."""

from __future__ import annotations

import asyncio
import base64

import httpx
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from training_devstack.embedded import free_port
from training_gateway.app import create_app
from training_gateway.server import build_server
from training_gateway.settings import GatewaySettings
from training_runtime.telemetry import install_span_processor
from training_testkit import wait_until

from .conftest import DATA, Platform, QuietServer


async def test_readiness_fails_while_a_required_service_is_down_and_while_draining(platform: Platform) -> None:
    settings = GatewaySettings(
        identity_url=platform.gateway.identity_url,
        courses_url=f"127.0.0.1:{free_port()}",  # nothing listens there
        required_services=["identity", "courses"],
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http,
    ):
        down = await http.get("/readyz")
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert "courses" in down.json()["detail"]
        assert (await http.get("/healthz")).status_code == 200

        app.state.upstreams.settings = platform.gateway  # every service answers now
        app.state.upstreams.channels["courses"] = app.state.upstreams.channels["identity"]
        assert (await http.get("/readyz")).status_code == 200
        app.state.draining = True
        assert (await http.get("/readyz")).json()["detail"] == "shutting down"


async def test_one_trace_runs_from_the_http_request_into_the_service(platform: Platform) -> None:
    exporter = InMemorySpanExporter()
    install_span_processor(SimpleSpanProcessor(exporter))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with platform.client() as http:
        response = await http.post(
            "/api/v1/sessions",
            json={"login": "nobody-at-all", "password": "x"},
            headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01", "X-Forwarded-For": "198.51.100.7"},
        )
    assert response.status_code == 401

    def spans() -> list:
        return [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]

    found = await wait_until(lambda: len(spans()) >= 3 and spans(), what="the request's spans")
    names = {s.name for s in found}
    assert any(name.startswith("POST /api/v1/sessions") for name in names), names
    # The gateway's client call and identity's server span of the same RPC, in the same trace.
    login = "training.identity.v1.IdentityService/Login"
    kinds = {s.kind.name for s in found if s.name.lstrip("/") == login}
    assert kinds == {"CLIENT", "SERVER"}, names


async def test_a_request_in_flight_finishes_during_graceful_shutdown(platform: Platform) -> None:
    settings = GatewaySettings(
        **{**platform.gateway.model_dump(), "http_port": free_port(), "shutdown_grace_seconds": 10}
    )
    server = build_server(settings, server_class=QuietServer)
    serving = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started, what="the gateway to listen")
    trainee = await platform.people.enrolled_trainee()
    url = f"http://127.0.0.1:{settings.http_port}"
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        # A face self-test takes the matcher a while: it is in flight when the shutdown starts.
        frame = base64.b64encode((DATA / "obama2.jpg").read_bytes()).decode()
        request = asyncio.create_task(
            http.post(
                f"/api/v1/users/{trainee.user_id}/face/self-test",
                json={"image": frame},
                headers={"Authorization": f"Bearer {trainee.token}"},
            )
        )
        await asyncio.sleep(0)
        await wait_until(lambda: server.server_state.total_requests >= 1, what="the request to arrive")
        server.should_exit = True
        response = await request
    await serving
    assert response.status_code == 200
    assert response.json()["matched"] is True
