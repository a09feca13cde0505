"""The trainee's whole journey in headless Chromium through the gateway, with a camera that shows a
real face: register, consent and enroll the face, study every lesson (heartbeats, random face checks
that really match, lost focus, no seeking ahead) until the class completes, pass the final exam (a
face check at the start, a countdown), download the certificate and open the verification page its
QR code names. And with the other person's face in front of the camera, the random check fails and
study pauses.

Screenshots of every step and the timings are kept under test-output/gateway-browser/.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from playwright.async_api import Page, expect

from training_exams.sample import sample_bank
from training_identity.testing import PASSWORD, make_credit_code, make_national_id, make_phone
from training_testkit import wait_until

from .browser import CHROMIUM, Steps, camera_video, chromium
from .conftest import DATA, LESSON_SECONDS, Platform

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser_installed() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser journey drives Debian's chromium (`make test` installs it with "
            "apt-get as root or with sudo; otherwise `apt-get install -y chromium fonts-wqy-microhei`)",
            pytrace=False,
        )


BANK = {question["stem"]: question for question in json.loads(sample_bank())["questions"]}


def correct_options(stem: str) -> list[str]:
    """The options of the sample bank's question with this stem that its answer key marks correct."""
    question = BANK[stem]
    if question["type"] == "true_false":
        return ["正确" if question["answer"] else "错误"]
    return [question["options"][ord(letter) - ord("A")] for letter in question["answer"]]


def qr_code_of(pdf: Path) -> str:
    """What the QR code printed in the certificate PDF says."""
    (page,) = pypdf.PdfReader(pdf).pages
    (image,) = page.images
    (barcode,) = zxingcpp.read_barcodes(image.image)
    return barcode.text


async def sign_in(page: Page, login: str) -> None:
    await page.get_by_label(re.compile("ID number|身份证号")).fill(login)
    await page.get_by_label(re.compile("^(Password|密码)$")).fill(PASSWORD)
    await page.locator("#login-form button[type=submit]").click()


async def study_lesson(
    page: Page, steps: Steps, platform: Platform, enrollment_id: str, lesson_id: str, n: int
) -> None:
    await page.goto(f"{platform.base_url}/#/study/{enrollment_id}/{lesson_id}")
    start = page.locator("#start")
    await expect(start).to_be_visible()
    await expect(page.locator("#study-camera")).to_have_attribute("data-ready", "true")
    await start.click()
    status = page.locator("#study-status")
    await expect(page.locator("#pause")).to_be_visible(timeout=20_000)
    if n == 1:
        # Seeking ahead of what was watched is refused by the player.
        await page.wait_for_function("document.getElementById('player').currentTime > 2")
        await page.evaluate(f"document.getElementById('player').currentTime = {LESSON_SECONDS - 2}")
        await page.wait_for_function(f"document.getElementById('player').currentTime < {LESSON_SECONDS - 5}")
        await expect(status).to_have_text(re.compile("skip ahead|不能跳过"))
        await steps.shot("seek-ahead-refused")
        # Losing focus pauses playback until the trainee comes back and presses Play.
        await page.evaluate("window.dispatchEvent(new Event('blur'))")
        await expect(status).to_have_text(re.compile("lost focus|失去焦点"))
        assert await page.evaluate("document.getElementById('player').paused")
        await steps.shot("paused-on-lost-focus")
        await page.evaluate("window.dispatchEvent(new Event('focus'))")
        await page.locator("#play").click()
    await expect(status).to_have_attribute("data-check", "passed", timeout=40_000)
    await steps.shot(f"lesson-{n}-random-face-check-passed")
    await expect(status).to_have_attribute("data-ended", "true", timeout=90_000)
    await steps.shot(f"lesson-{n}-finished")


async def test_a_trainee_registers_studies_until_the_class_completes_passes_the_final_and_verifies_the_certificate(
    platform: Platform, browser_installed: None, tmp_path: Path
) -> None:
    training_class = await platform.journey_class()
    camera = camera_video(tmp_path / "obama.y4m", (DATA / "obama.jpg", 3))
    national_id = make_national_id()
    async with chromium(camera, tmp_path / "profile") as browser:
        page = await browser.new_page()
        steps = Steps("journey", page)
        await page.goto(platform.base_url)
        await expect(page.locator("#login-form")).to_be_visible()
        await steps.shot("sign-in-page")

        await page.get_by_role("link", name=re.compile("Register")).click()
        await page.get_by_label("Real name").fill("奥巴马")
        await page.get_by_label("Resident ID number").fill(national_id)
        await page.get_by_label("Mobile number").fill(make_phone())
        await page.get_by_label("Employer", exact=True).fill("广州化工有限公司")
        await page.get_by_label("Employer's unified social credit code").fill(make_credit_code())
        await page.get_by_label("Password").fill(PASSWORD)
        await steps.shot("registration-form")
        await page.locator("#register-form button[type=submit]").click()
        await expect(page.locator("#notice")).to_have_text(re.compile("Registered"))

        await sign_in(page, national_id)
        await expect(page.locator("#consent-form")).to_be_visible()
        await steps.shot("face-consent")
        await page.get_by_label(re.compile("separately consent")).check()
        await page.locator("#consent-form button").click()
        await expect(page.locator("#consent-state")).to_be_visible()
        await expect(page.locator("#face-camera")).to_have_attribute("data-ready", "true")
        await page.locator("#enroll").click()
        await expect(page.locator("#enroll-state")).to_have_class("ok")
        await expect(page.locator("#notice")).to_have_text(re.compile("enrolled"))
        await steps.shot("face-enrolled")

        # The institution enrolls the new trainee into its class (the console API).
        async with platform.client() as http:
            signed_in = (await http.post("/api/v1/sessions", json={"login": national_id, "password": PASSWORD})).json()
            enrolled = await http.post(
                f"/api/v1/classes/{training_class.class_id}/enrollments",
                json={"trainee_id": signed_in["user"]["user_id"]},
                headers={"Authorization": f"Bearer {training_class.school.admin.token}"},
            )
            assert enrolled.status_code == 201, enrolled.text
        enrollment_id = enrolled.json()["enrollment"]["enrollment_id"]
        await platform.wait_learning_knows(signed_in["tokens"]["access_token"], enrollment_id)

        await page.get_by_role("link", name="Go to my classes").click()
        card = page.locator(f".class-card[data-class='{training_class.class_id}']")
        await expect(card).to_have_attribute("data-state", "STUDYING")
        await steps.shot("classes-and-progress")

        for n, lesson in enumerate(training_class.lessons(), start=1):
            await study_lesson(page, steps, platform, enrollment_id, lesson.lesson_id, n)

        await page.goto(f"{platform.base_url}/#/classes")
        await expect(card).to_have_attribute("data-state", "COMPLETED", timeout=20_000)
        for code, _ in (("law", 1), ("safety", 1)):
            hours = float(await card.locator(f"tr[data-topic='{code}'] .credited-hours").inner_text())
            assert hours >= 1
        await steps.shot("class-completed")
        async with platform.client() as http:
            progress = (
                await http.get(
                    f"/api/v1/enrollments/{enrollment_id}/progress",
                    headers={"Authorization": f"Bearer {signed_in['tokens']['access_token']}"},
                )
            ).json()["progress"]
        # Honest study in the browser earns the whole lesson, to within the heartbeats' timing.
        for lesson in progress["lessons"]:
            assert lesson["finished"]
            assert LESSON_SECONDS - 0.1 < lesson["credited_seconds"] <= LESSON_SECONDS

        # The institution sets the final exam: five true/false questions of 20 points from the sample bank.
        exam_id = await platform.final_exam(training_class)
        await page.reload()
        exam_link = card.locator(f"li[data-exam='{exam_id}'] a.exam-link")
        await expect(exam_link).to_be_visible(timeout=20_000)
        await exam_link.click()
        await expect(page.locator("#exam-camera")).to_have_attribute("data-ready", "true")
        await steps.shot("final-exam-face-check")
        await page.locator("#exam-begin").click()
        await expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d\d:\d\d$"))
        for question in await page.locator("fieldset.question").all():
            stem = (await question.locator("legend").inner_text()).split(". ", 1)[1].rsplit(" (", 1)[0]
            for option in correct_options(stem):
                await question.get_by_label(option, exact=True).check()
            await expect(question).to_have_attribute("data-saved", "true")
        await steps.shot("final-exam-answered-with-countdown")
        await page.locator("#exam-submit").click()
        await expect(page.locator("#exam-result")).to_have_attribute("data-passed", "true", timeout=20_000)
        await steps.shot("final-exam-passed")

        # The certificate is issued from the completion and the passed final exam.
        await page.goto(f"{platform.base_url}/#/certificates")

        async def issued() -> bool:
            await page.reload()
            await expect(page.locator("main h2")).to_be_visible()
            return await page.locator("section.certificate").count() > 0

        await wait_until(issued, timeout=30, interval=0.5, what="the certificate")
        await steps.shot("certificate")
        async with page.expect_download() as download_info:
            await page.locator("button.download").click()
        download = await download_info.value
        pdf_path = steps.folder / "certificate.pdf"
        await download.save_as(pdf_path)
        qr_text = qr_code_of(pdf_path)
        assert qr_text.startswith(f"{platform.base_url}/verify?t=")
        await page.goto(qr_text)
        await expect(page.locator("#result")).to_have_attribute("data-result", "VALID")
        await steps.shot("public-verification-from-the-qr-code")
        elapsed = steps.finish()
    print(f"browser journey: {elapsed:.1f}s")


async def test_with_someone_elses_face_the_random_check_fails_and_study_pauses(
    platform: Platform, browser_installed: None, tmp_path: Path
) -> None:
    training_class = await platform.journey_class()
    trainee = await platform.people.enrolled_trainee((DATA / "obama.jpg").read_bytes())
    enrollment = await platform.campus.enroll(training_class, trainee)
    await platform.wait_learning_knows(trainee.token, enrollment.enrollment_id)
    # The trainee sits down for the start check; then someone else takes over the seat.
    camera = camera_video(tmp_path / "swap.y4m", (DATA / "obama2.jpg", 5), (DATA / "biden2.jpg", 60))
    async with chromium(camera, tmp_path / f"profile-{uuid.uuid4().hex[:6]}") as browser:
        page = await browser.new_page()
        steps = Steps("someone-else", page)
        await page.goto(platform.base_url)
        await sign_in(page, trainee.login)
        await expect(page.locator(".class-card")).to_be_visible()
        lesson = training_class.lessons()[0]
        await page.goto(f"{platform.base_url}/#/study/{enrollment.enrollment_id}/{lesson.lesson_id}")
        await expect(page.locator("#study-camera")).to_have_attribute("data-ready", "true")
        await page.locator("#start").click()
        await expect(page.locator("#pause")).to_be_visible(timeout=20_000)
        await steps.shot("started-with-the-trainee")
        status = page.locator("#study-status")
        await expect(status).to_have_attribute("data-check", "failed", timeout=40_000)
        await expect(status).to_have_text(re.compile("paused"))
        assert await page.evaluate("document.getElementById('player').paused")
        await expect(page.locator("#resume-check")).to_be_visible()
        await steps.shot("someone-else-check-failed-study-paused")
        steps.finish()
    async with platform.client() as http:
        ledger = (
            await http.get(
                f"/api/v1/enrollments/{enrollment.enrollment_id}/ledger",
                headers={"Authorization": f"Bearer {trainee.token}"},
            )
        ).json()
    assert any(e["reason"] == "FACE_CHECK_FAILED" for e in ledger["entries"])
    assert sum(e["credited_seconds"] for e in ledger["entries"]) == 0
