"""Exams through the gateway: the institution sets a final exam, the trainee sees it among its
class's exams, and a final exam refuses to start before the class is complete, naming the rule."""

from __future__ import annotations

import base64

import httpx

from training_testkit import wait_until

from .conftest import DATA, Platform


async def test_a_final_exam_is_listed_for_the_trainee_and_refuses_to_start_before_completion(
    platform: Platform,
) -> None:
    opened = await platform.journey_class()
    trainee = await platform.people.enrolled_trainee()
    enrollment = await platform.campus.enroll(opened, trainee)
    await platform.wait_learning_knows(trainee.token, enrollment.enrollment_id)
    exam_id = await platform.final_exam(opened)
    auth = {"Authorization": f"Bearer {trainee.token}"}
    frame = base64.b64encode((DATA / "obama2.jpg").read_bytes()).decode()
    async with platform.client() as http:

        async def listed_for_the_trainee() -> httpx.Response | None:
            # Exams learns of the enrollment from courses' events.
            response = await http.get("/api/v1/exams", params={"class_id": opened.class_id}, headers=auth)
            return response if response.status_code != 200 or response.json()["exams"] else None

        listed = await wait_until(listed_for_the_trainee, timeout=30, what="exams to know the enrollment")
        no_face = await http.post(f"/api/v1/exams/{exam_id}/attempts", json={}, headers=auth)
        started = await http.post(f"/api/v1/exams/{exam_id}/attempts", json={"face_image": frame}, headers=auth)
    assert listed.status_code == 200, listed.text
    assert [e["exam_id"] for e in listed.json()["exams"]] == [exam_id]
    assert listed.json()["exams"][0]["kind"] == "EXAM_KIND_FINAL"
    assert no_face.status_code == 400
    assert [e["field"] for e in no_face.json()["errors"]] == ["face_image"]
    assert started.status_code == 409, started.text
    assert started.json()["code"] == "FAILED_PRECONDITION"
    assert started.json()["reason"] == "CLASS_NOT_COMPLETED"
