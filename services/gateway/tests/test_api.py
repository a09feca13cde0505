"""The gateway's HTTP contract against the real services: problem details naming the field or rule,
status mapping, rate limits, body limits, CORS, health and readiness, media ranges."""

from __future__ import annotations

import uuid

import grpc
import pytest

from training_gateway.problems import HTTP_STATUS_OF
from training_identity.testing import PASSWORD, make_credit_code, make_national_id, make_phone

PROBLEM = "application/problem+json"


async def test_bad_registration_names_every_bad_field(platform) -> None:
    async with platform.client() as http:
        response = await http.post(
            "/api/v1/trainees",
            json={"display_name": "", "national_id": "110101199003070000", "phone": "123", "password": PASSWORD},
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "INVALID_ARGUMENT"
    assert {"display_name", "national_id", "phone"} <= {e["field"] for e in problem["errors"]}
    assert problem["instance"] == "/api/v1/trainees"


async def test_a_malformed_body_is_a_problem_naming_the_field(platform) -> None:
    async with platform.client() as http:
        response = await http.post("/api/v1/sessions", json={"login": 7, "password": "x", "extra": True})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert {e["field"] for e in response.json()["errors"]} == {"login", "extra"}


async def test_a_rule_is_named_by_its_reason_code(platform) -> None:
    trainee = await platform.people.trainee()
    async with platform.client() as http:
        response = await http.put(
            "/api/v1/face/enrollment",
            json={"image": "aGVsbG8="},
            headers={"Authorization": f"Bearer {trainee.token}"},
        )
    assert response.status_code == HTTP_STATUS_OF[grpc.StatusCode.FAILED_PRECONDITION] == 409
    problem = response.json()
    assert problem["code"] == "FAILED_PRECONDITION"
    assert problem["reason"] == "FACE_CONSENT_REQUIRED"
    assert problem["type"] == "urn:training:problem:face-consent-required"


async def test_a_trainee_withdraws_face_consent_through_the_gateway(platform) -> None:
    trainee = await platform.people.trainee()
    auth = {"Authorization": f"Bearer {trainee.token}"}
    async with platform.client() as http:
        consent = await http.post(
            "/api/v1/face/consent", json={"purpose": "study checks", "retention_days": 30}, headers=auth
        )
        unexplained = await http.post("/api/v1/face/consent/withdrawal", json={"reason": ""}, headers=auth)
        withdrawn = await http.post("/api/v1/face/consent/withdrawal", json={"reason": "I withdraw"}, headers=auth)
        status = await http.get(f"/api/v1/users/{trainee.user_id}/face", headers=auth)
    assert consent.status_code == 200
    assert unexplained.status_code == 400
    assert [e["field"] for e in unexplained.json()["errors"]] == ["reason"]
    assert withdrawn.status_code == 200
    assert withdrawn.json()["deletion_id"]
    assert status.status_code == 200
    assert not status.json().get("consented", False)


async def test_missing_token_is_401_and_someone_elses_record_is_404(platform) -> None:
    trainee = await platform.people.trainee()
    other = await platform.people.trainee()
    async with platform.client() as http:
        anonymous = await http.get(f"/api/v1/users/{trainee.user_id}/face")
        foreign = await http.get(f"/api/v1/users/{other.user_id}", headers={"Authorization": f"Bearer {trainee.token}"})
        own = await http.get(f"/api/v1/users/{trainee.user_id}", headers={"Authorization": f"Bearer {trainee.token}"})
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "UNAUTHENTICATED"
    assert foreign.status_code in (403, 404)
    assert own.status_code == 200
    assert own.json()["user"]["user_id"] == trainee.user_id
    assert own.json()["user"]["role"] == "ROLE_TRAINEE"


async def test_register_then_login_through_the_gateway(platform) -> None:
    national_id = make_national_id()
    async with platform.client() as http:
        registered = await http.post(
            "/api/v1/trainees",
            json={
                "display_name": "陈静",
                "national_id": national_id,
                "phone": make_phone(),
                "employer": {"name": "广州化工有限公司", "credit_code": make_credit_code()},
                "password": PASSWORD,
            },
        )
        assert registered.status_code == 201, registered.text
        signed_in = await http.post("/api/v1/sessions", json={"login": national_id, "password": PASSWORD})
    assert signed_in.status_code == 200
    body = signed_in.json()
    assert body["user"]["display_name"] == "陈静"
    assert body["tokens"]["access_token"].count(".") == 2


async def test_login_is_rate_limited_per_client(platform) -> None:
    client = f"203.0.113.{uuid.uuid4().int % 250}"
    headers = {"X-Forwarded-For": client}
    statuses = []
    async with platform.client() as http:
        for _ in range(platform.gateway.login_burst + 1):
            response = await http.post("/api/v1/sessions", json={"login": "nobody", "password": "x"}, headers=headers)
            statuses.append(response.status_code)
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {401}
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"] == PROBLEM


async def test_a_body_over_the_limit_is_refused_before_it_reaches_a_service(platform) -> None:
    big = "A" * (platform.gateway.max_body_bytes + 10)
    async with platform.client() as http:
        response = await http.put("/api/v1/face/enrollment", content=f'{{"image": "{big}"}}')
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_health_and_readiness(platform) -> None:
    async with platform.client() as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["services"] == dict.fromkeys(platform.gateway.required_services, True)


async def test_media_supports_ranges_and_never_leaves_its_store(platform) -> None:
    async with platform.client() as http:
        whole = await http.get("/media/journey/lesson.webm")
        part = await http.get("/media/journey/lesson.webm", headers={"Range": "bytes=0-99"})
        escape = await http.get("/media/journey/..%2F..%2Fjourney-rulebook.json")
        unknown = await http.get("/media/nowhere/lesson.webm")
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/webm"
    assert part.status_code == 206
    assert len(part.content) == 100
    assert escape.status_code == 404
    assert unknown.status_code == 404


async def test_openapi_publishes_problem_and_response_schemas(platform) -> None:
    async with platform.client() as http:
        document = (await http.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert "Problem" in schemas
    assert "HTTPValidationError" not in schemas
    progress = document["paths"]["/api/v1/enrollments/{enrollment_id}/progress"]["get"]["responses"]
    assert progress["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/LearningGetProgressResponse")
    assert progress["404"]["content"][PROBLEM]["schema"]["$ref"].endswith("/Problem")
    assert "422" not in progress


@pytest.mark.parametrize("token", ["a\x7fb", "é", "a b"])
async def test_a_malformed_bearer_token_is_refused_without_calling_a_service(platform, token) -> None:
    async with platform.client() as http:
        response = await http.get(
            "/api/v1/enrollments", headers=[(b"authorization", b"Bearer " + token.encode("utf-8"))]
        )
    assert response.status_code == 401
    assert response.json()["reason"] == "TOKEN_MALFORMED"


async def test_public_verification_needs_no_account_and_is_rate_limited(platform) -> None:
    headers = {"X-Forwarded-For": f"192.0.2.{uuid.uuid4().int % 250}"}
    query = {"serial_number": "440106-2026-999999", "verification_code": "ABCDEFGH"}
    statuses = []
    async with platform.client() as http:
        first = await http.get("/api/v1/public/certificates/verification", params=query, headers=headers)
        statuses.append(first.status_code)
        for _ in range(platform.gateway.verify_burst):
            response = await http.get("/api/v1/public/certificates/verification", params=query, headers=headers)
            statuses.append(response.status_code)
        missing = await http.get(
            "/api/v1/public/certificates/token-verification", headers={"X-Forwarded-For": "192.0.2.251"}
        )
    assert first.json()["verification"]["result"] == "VERIFICATION_RESULT_UNKNOWN"
    assert statuses[: platform.gateway.verify_burst] == [200] * platform.gateway.verify_burst
    assert statuses[-1] == 429
    assert missing.status_code == 400
    assert [e["field"] for e in missing.json()["errors"]] == ["token"]
