"""Class archive exports through the gateway: the class's institution and a regulator of its region
start one, poll it to the end and download a ZIP whose manifest matches; a trainee, another
institution or nobody signed in is refused with a problem; an export is visible only to its starter."""

from __future__ import annotations

import io
import json
import zipfile

from training.common.v1 import common_pb2
from training_archive.package import verify_zip
from training_testkit import wait_until

PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_institution_exports_its_class_and_downloads_the_zip(platform) -> None:
    opened = await platform.journey_class()
    trainees = [await platform.people.trainee() for _ in range(2)]
    enrollments = [(await platform.campus.enroll(opened, t)).enrollment_id for t in trainees]
    for trainee, enrollment_id in zip(trainees, enrollments, strict=True):
        await platform.wait_learning_knows(trainee.token, enrollment_id)
    admin = opened.school.admin

    async with platform.client() as http:
        started = await http.post(f"/api/v1/classes/{opened.class_id}/archive-exports", headers=bearer(admin.token))
        assert started.status_code == 202, started.text
        export = started.json()
        assert export["class_id"] == opened.class_id
        seen: list[tuple[int, str]] = []

        async def finished() -> dict | None:
            polled = await http.get(f"/api/v1/archive-exports/{export['export_id']}", headers=bearer(admin.token))
            assert polled.status_code == 200, polled.text
            body = polled.json()
            seen.append((body["step"], body["state"]))
            return body if body["state"] != "running" else None

        done = await wait_until(finished, timeout=60, what="the export to finish")
        assert done["state"] == "done", done
        assert done["step"] == done["steps"] == 10
        assert [step for step, _ in seen] == sorted(step for step, _ in seen)
        assert "chain heads unavailable from supervision: no address configured" in done["notes"]

        someone_else = await platform.people.account(common_pb2.ROLE_INSTITUTION_STAFF, creator=admin)
        hidden = await http.get(f"/api/v1/archive-exports/{export['export_id']}", headers=bearer(someone_else.token))
        assert hidden.status_code == 404
        assert hidden.headers["content-type"] == PROBLEM

        download = await http.get(done["download"], headers=bearer(admin.token))
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert len(download.content) == done["size_bytes"]
    assert verify_zip(download.content) == []
    with zipfile.ZipFile(io.BytesIO(download.content)) as z:
        data = json.loads(z.read("archive.json"))
        names = set(z.namelist())
    assert {"archive.json", "summary.pdf", "manifest.json"} <= names
    assert sorted(r["enrollment"]["enrollment_id"] for r in data["roster"]) == sorted(enrollments)
    assert all("*" in r["trainee"]["national_id"] for r in data["roster"])
    assert data["rulebooks"][0]["available"]
    assert not data["face_checks"]["available"]
    assert {s for s, chain in data["chains"].items() if chain["available"]} == {
        "identity",
        "learning",
        "exams",
        "certificates",
    }


async def test_a_regulator_of_the_region_may_export_and_others_are_refused(platform) -> None:
    opened = await platform.journey_class()
    regulator = await platform.people.account(common_pb2.ROLE_REGULATOR, region_code="440000")
    elsewhere = await platform.people.account(common_pb2.ROLE_REGULATOR, region_code="310000")
    trainee = await platform.people.trainee()
    other_school = await platform.campus.school()
    path = f"/api/v1/classes/{opened.class_id}/archive-exports"
    async with platform.client() as http:
        allowed = await http.post(path, headers=bearer(regulator.token))
        refused = {
            "trainee": await http.post(path, headers=bearer(trainee.token)),
            "operator": await http.post(path, headers=bearer(platform.people.operator.token)),
            "other institution": await http.post(path, headers=bearer(other_school.admin.token)),
            "other region": await http.post(path, headers=bearer(elsewhere.token)),
            "nobody": await http.post(path),
        }
        not_done = await http.get(
            f"/api/v1/archive-exports/{allowed.json()['export_id']}/zip", headers=bearer(regulator.token)
        )
    assert allowed.status_code == 202, allowed.text
    assert {name: r.status_code for name, r in refused.items()} == {
        "trainee": 403,
        "operator": 403,
        "other institution": 404,
        "other region": 404,
        "nobody": 401,
    }
    for response in refused.values():
        assert response.headers["content-type"] == PROBLEM
    assert refused["trainee"].json()["reason"] == "ARCHIVE_NOT_ALLOWED"
    # Right after the start the export is still building (or just done).
    assert not_done.status_code in (200, 409)
    if not_done.status_code == 409:
        assert not_done.json()["reason"] == "ARCHIVE_EXPORT_NOT_DONE"
