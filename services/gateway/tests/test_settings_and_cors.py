"""The gateway's settings from the environment (fail fast, named) and CORS for configured origins only."""

from __future__ import annotations

import httpx
import pytest

from training_gateway.app import create_app
from training_gateway.settings import GatewaySettings
from training_runtime.settings import SettingsError, load_settings


def test_lists_come_comma_separated_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://console.example, https://app.example")
    monkeypatch.setenv("GATEWAY_REQUIRED_SERVICES", "identity,learning")
    monkeypatch.setenv("GATEWAY_MEDIA_ROOTS", f"demo={tmp_path}")

    settings = load_settings(GatewaySettings)

    assert settings.cors_origins == ["https://console.example", "https://app.example"]
    assert settings.required_services == ["identity", "learning"]
    assert settings.media == {"demo": tmp_path.resolve()}


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("GATEWAY_CORS_ORIGINS", "*", "GATEWAY_CORS_ORIGINS"),
        ("GATEWAY_REQUIRED_SERVICES", "identity,payroll", "GATEWAY_REQUIRED_SERVICES"),
        ("GATEWAY_MEDIA_ROOTS", "demo=/no/such/folder", "GATEWAY_MEDIA_ROOTS"),
        ("GATEWAY_HTTP_PORT", "eighty", "GATEWAY_HTTP_PORT"),
    ],
)
def test_a_bad_setting_stops_the_gateway_naming_it(monkeypatch, variable, value, named) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as failure:
        load_settings(GatewaySettings)

    assert named in str(failure.value)


async def test_cors_answers_configured_origins_only() -> None:
    app = create_app(GatewaySettings(cors_origins=["https://console.example"]))
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        allowed = await http.options("/api/v1/sessions", headers={"Origin": "https://console.example", **preflight})
        other = await http.options("/api/v1/sessions", headers={"Origin": "https://evil.example", **preflight})

    assert allowed.headers["access-control-allow-origin"] == "https://console.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
