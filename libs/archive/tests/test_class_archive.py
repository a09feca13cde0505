"""The class archive against the real services: two trainees study under real face checks, sit a
real final exam with a start face check, get certificates (one revoked); the archive holds all of it
as the services hold it, its manifest matches, its PDF reads back, snapshots come only to a caller
identity lets read them (and each read is in identity's access log), and the wrong callers are
refused before anything is collected."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

import asyncpg
import pypdf
import pytest
import pytest_asyncio

from training.certificates.v1 import certificates_pb2 as cpb
from training.common.v1 import common_pb2
from training.courses.v1 import courses_pb2
from training.exams.v1 import exams_events_pb2 as xev
from training.exams.v1 import exams_pb2 as xpb
from training.identity.v1 import identity_pb2 as ipb
from training.learning.v1 import learning_pb2 as lpb
from training_archive import ArchiveBuilder, ArchiveRefused, ClassArchive, ServiceTargets
from training_archive.__main__ import export, main
from training_archive.package import verify_zip
from training_archive.settings import ArchiveSettings
from training_courses.testing import OpenClass
from training_exams.sample import sample_bank, section
from training_exams.testing import ExamClass
from training_identity.testing import FacePhotos, Person
from training_records.digest import link_hash
from training_runtime.masking import mask_national_id
from training_testkit import wait_until

pytestmark = pytest.mark.slow
FACES = FacePhotos()
KEYS = {
    q["stem"]: ("正确" if q["answer"] else "错误")
    for q in json.loads(sample_bank())["questions"]
    if q["type"] == "true_false"
}


@dataclass
class Scenario:
    opened: OpenClass
    trainees: list[Person]
    enrollments: list[str]
    attempts: list[str]
    revoked_serial: str


async def study_to_the_end(classroom, trainee: Person, enrollment_id: str, opened: OpenClass) -> None:  # type: ignore[no-untyped-def]
    for lesson in opened.lessons():
        player = await classroom.start(trainee, enrollment_id, lesson.lesson_id, FACES["obama2.jpg"])
        await player.study(lesson.duration_seconds, FACES["obama2.jpg"])
        await player.end(FACES["obama2.jpg"])


async def pass_final(exam_office, trainee: Person, exam: xpb.Exam) -> str:  # type: ignore[no-untyped-def]
    async def started() -> xpb.StartAttemptResponse | None:
        try:
            return await exam_office.start(trainee, exam, FACES["obama2.jpg"])
        except Exception as exc:  # CLASS_NOT_COMPLETED until exams has the completion
            if "complete" in str(exc):
                return None
            raise

    attempt = await wait_until(started, what="exams to learn of the completion")
    for q in attempt.paper.questions:
        right = [i for i, text in enumerate(q.options) if text == KEYS[q.stem]]
        await exam_office.save(trainee, attempt.attempt.attempt_id, q.position, right)
    submitted = await exam_office.submit(trainee, attempt.attempt.attempt_id)
    assert submitted.attempt.passed
    return attempt.attempt.attempt_id


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scenario(people, campus, classroom, exam_office, certificates_stub, supervision_app) -> Scenario:  # type: ignore[no-untyped-def]
    opened = await campus.open_class(topics=(("law", 1),), lessons=(60,))
    exam = await exam_office.define(
        ExamClass(opened.class_id, opened.school.admin, opened),
        xev.EXAM_KIND_FINAL,
        blueprint=[
            section(xpb.QUESTION_TYPE_TRUE_FALSE, 2, 25, "fire"),
            section(xpb.QUESTION_TYPE_TRUE_FALSE, 2, 25, "electrical"),
        ],
        face_check=True,
        max_attempts=1,
    )
    trainees, enrollments, attempts = [], [], []
    for _ in range(2):
        trainee = await people.enrolled_trainee(FACES["obama.jpg"])
        enrollment_id = await classroom.enrolled(opened, trainee)
        await study_to_the_end(classroom, trainee, enrollment_id, opened)
        attempts.append(await pass_final(exam_office, trainee, exam))
        trainees.append(trainee)
        enrollments.append(enrollment_id)

    admin = opened.school.admin

    async def issued() -> list[cpb.Certificate] | None:
        listed = await certificates_stub.ListCertificates(
            cpb.ListCertificatesRequest(class_id=opened.class_id), metadata=admin.metadata
        )
        return list(listed.certificates) if len(listed.certificates) == 2 else None

    certificates = await wait_until(issued, timeout=30, what="both certificates")
    revoked = certificates[0]
    await certificates_stub.RevokeCertificate(
        cpb.RevokeCertificateRequest(certificate_id=revoked.certificate_id, reason="培训记录有误，撤销重发"),
        metadata=admin.metadata,
    )
    return Scenario(opened, trainees, enrollments, attempts, revoked.serial_number)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def builder(  # type: ignore[no-untyped-def]
    identity_app, courses_app, learning_app, exams_app, certificates_app, supervision_app, rulebook_file
):
    built = ArchiveBuilder(
        ServiceTargets(
            identity=f"127.0.0.1:{identity_app.port}",
            courses=f"127.0.0.1:{courses_app.port}",
            learning=f"127.0.0.1:{learning_app.port}",
            exams=f"127.0.0.1:{exams_app.port}",
            certificates=f"127.0.0.1:{certificates_app.port}",
            supervision=f"127.0.0.1:{supervision_app.port}",
        ),
        rulebooks=[rulebook_file, "default"],
    )
    yield built
    await built.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def by_platform(builder, scenario, people) -> tuple[ClassArchive, list[tuple[int, int, str]]]:  # type: ignore[no-untyped-def]
    """The archive as a platform service exports it (identity lets services read face data)."""
    steps: list[tuple[int, int, str]] = []
    service = await people.service("supervision")
    archive = await builder.build(
        scenario.opened.class_id, service.token, lambda n, m, what: steps.append((n, m, what))
    )
    return archive, steps


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def by_institution(builder, scenario) -> ClassArchive:  # type: ignore[no-untyped-def]
    return await builder.build(scenario.opened.class_id, scenario.opened.school.admin.token)


def read_zip(archive: ClassArchive) -> tuple[dict[str, bytes], dict]:  # type: ignore[type-arg]
    with zipfile.ZipFile(io.BytesIO(archive.zip_bytes())) as z:
        files = {name: z.read(name) for name in z.namelist()}
    return files, json.loads(files["archive.json"])


async def test_the_archive_holds_what_the_services_hold(
    by_platform, scenario, people, courses_stub, learning_stub, exams_stub, certificates_stub
) -> None:
    archive, _ = by_platform
    files, data = read_zip(archive)
    admin = scenario.opened.school.admin.metadata
    class_id = scenario.opened.class_id

    assert data["schema"] == "training.class-archive"
    assert data["schema_version"] == 1
    assert data["class"]["class_id"] == class_id
    assert data["generated_by"]["role"] == "service"

    # Roster: both trainees, ID numbers masked even for a caller that sees them whole.
    assert sorted(r["enrollment"]["enrollment_id"] for r in data["roster"]) == sorted(scenario.enrollments)
    for entry in data["roster"]:
        user = (
            await people.stub.GetUser(
                ipb.GetUserRequest(user_id=entry["trainee"]["user_id"]), metadata=people.operator.metadata
            )
        ).user
        assert "*" in entry["trainee"]["national_id"]
        assert entry["trainee"]["national_id"] == mask_national_id(user.national_id)
        assert "*" in entry["trainee"]["phone"]

    # Courses, their versions and review decisions; the rulebook version in force.
    (course_id,) = scenario.opened.training_class.course_ids
    (course,) = data["courses"]
    held = (await courses_stub.GetCourse(courses_pb2.GetCourseRequest(course_id=course_id), metadata=admin)).course
    assert course["course_id"] == held.course_id
    assert course["version"] == held.version
    assert [lesson["lesson_id"] for lesson in course["lessons"]] == [lesson.lesson_id for lesson in held.lessons]
    decisions = await courses_stub.ListCourseDecisions(
        courses_pb2.ListCourseDecisionsRequest(course_id=course_id), metadata=admin
    )
    assert [d["decision_id"] for d in course["review_decisions"]] == [d.decision_id for d in decisions.decisions]
    assert "COURSE_STATUS_APPROVED" in {d["status"] for d in course["review_decisions"]}
    (rulebook,) = data["rulebooks"]
    assert rulebook["version"] == "test-2026"
    assert rulebook["available"]
    assert rulebook["rules"]["class_hour_minutes"] == 1

    # Every ledger entry, session and study face check, as learning holds them.
    for hours in data["hours"]:
        assert hours["available"]
        explained = await learning_stub.ExplainHours(
            lpb.ExplainHoursRequest(enrollment_id=hours["enrollment_id"]), metadata=admin
        )
        assert [e["entry_id"] for e in hours["ledger_entries"]] == [e.entry_id for e in explained.entries]
        assert sum(e["credited_seconds"] for e in hours["ledger_entries"]) == pytest.approx(60)
        assert hours["progress"]["state"] == "ENROLLMENT_STATE_COMPLETED"
        records = await learning_stub.ListStudyRecords(
            lpb.ListStudyRecordsRequest(enrollment_id=hours["enrollment_id"]), metadata=admin
        )
        assert [s["session_id"] for s in hours["study_sessions"]] == [s.session_id for s in records.sessions]
        assert [c["face_check_id"] for c in hours["study_face_checks"]] == [
            c.face_check_id for c in records.face_checks
        ]
        assert len(hours["study_face_checks"]) >= 3  # start, at least one random, end

    # Exam attempts with scores and per-topic results.
    listed = await exams_stub.ListAttempts(xpb.ListAttemptsRequest(class_id=class_id), metadata=admin)
    assert sorted(a["attempt_id"] for a in data["exams"]["attempts"]) == sorted(a.attempt_id for a in listed.attempts)
    assert sorted(scenario.attempts) == sorted(a.attempt_id for a in listed.attempts)
    for attempt in data["exams"]["attempts"]:
        assert attempt["score"] == 100
        assert attempt["passed"]
        assert {t["topic_code"]: t["points"] for t in attempt["topics"]} == {"fire": 50, "electrical": 50}
        assert attempt["start_face_check_id"]

    # Certificates, one of them revoked.
    held_certificates = await certificates_stub.ListCertificates(
        cpb.ListCertificatesRequest(class_id=class_id), metadata=admin
    )
    by_serial = {c["serial_number"]: c for c in data["certificates"]}
    assert set(by_serial) == {c.serial_number for c in held_certificates.certificates}
    assert by_serial[scenario.revoked_serial]["status"] == "CERTIFICATE_STATUS_REVOKED"
    assert "撤销重发" in by_serial[scenario.revoked_serial]["revocation_reason"]

    # Identity's face-check records of the study and exam checks, each with its snapshot.
    faces = data["face_checks"]
    assert faces["available"]
    referenced = {c["face_check_id"] for h in data["hours"] for c in h["study_face_checks"]} | {
        a["start_face_check_id"] for a in data["exams"]["attempts"]
    }
    assert {r["face_check_id"] for r in faces["records"]} == referenced
    for record in faces["records"]:
        assert record["snapshot"] == f"snapshots/{record['face_check_id']}.jpg"
        assert files[record["snapshot"]].startswith(b"\xff\xd8")  # a JPEG


async def test_the_manifest_names_every_file_with_its_sha256(by_platform) -> None:
    archive, _ = by_platform
    content = archive.zip_bytes()
    assert verify_zip(content) == []
    files, _ = read_zip(archive)
    manifest = json.loads(files["manifest.json"])
    assert {f["path"] for f in manifest["files"]} == set(files) - {"manifest.json"}
    tampered = io.BytesIO()
    with zipfile.ZipFile(tampered, "w") as z:
        for name, body in files.items():
            z.writestr(name, body.replace(b'"passed": true', b'"passed": false') if name == "archive.json" else body)
    assert verify_zip(tampered.getvalue()) == ["archive.json: SHA-256 does not match the manifest"]


async def test_the_pdf_summary_reads_back(by_platform, scenario) -> None:
    archive, _ = by_platform
    reader = pypdf.PdfReader(io.BytesIO(archive.files["summary.pdf"]))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "培训档案（一期一档）" in text
    assert scenario.opened.training_class.title in text
    assert scenario.opened.class_id in text
    assert "test-2026" in text
    for entry in archive.data["roster"]:
        assert entry["trainee"]["national_id"] in text
        assert entry["trainee"]["display_name"] in text
    for certificate in archive.data["certificates"]:
        assert certificate["serial_number"] in text
    assert f"{scenario.revoked_serial} REVOKED" in text


async def test_progress_is_reported_step_by_step(by_platform) -> None:
    _, steps = by_platform
    assert {m for _, m, _ in steps} == {10}
    assert sorted({n for n, _, _ in steps}) == list(range(1, 11))
    assert [n for n, _, _ in steps] == sorted(n for n, _, _ in steps)
    assert any(what == "hour ledger 2 of 2" for _, _, what in steps)


async def test_snapshot_reads_are_in_identitys_access_log(by_platform, identity_database) -> None:
    archive, _ = by_platform
    snapshots = {r["face_check_id"] for r in archive.data["face_checks"]["records"]}
    connection = await asyncpg.connect(identity_database)
    try:
        rows = await connection.fetch(
            "SELECT actor_id, actor_role, action FROM face_data_access WHERE reason = $1",
            archive.data["face_checks"]["reason_given"],
        )
    finally:
        await connection.close()
    assert len([r for r in rows if r["action"] == "read_snapshot"]) == len(snapshots)
    assert len([r for r in rows if r["action"] == "list_checks"]) == len(archive.data["roster"])
    assert {(r["actor_id"], r["actor_role"]) for r in rows} == {("service:supervision", "service")}


async def test_an_institution_gets_no_face_data_from_identity(by_institution, by_platform) -> None:
    files, data = read_zip(by_institution)
    assert data["generated_by"]["role"] == "institution_admin"
    assert not data["face_checks"]["available"]
    assert data["face_checks"]["refused"]["code"] == "PERMISSION_DENIED"
    assert data["face_checks"]["records"] == []
    assert not [name for name in files if name.startswith("snapshots/")]
    # The rest is the same record: learning's study face checks (outcomes only), ledgers, exams.
    platform = by_platform[0].data
    assert [h["study_face_checks"] for h in data["hours"]] == [h["study_face_checks"] for h in platform["hours"]]
    assert [h["ledger_entries"] for h in data["hours"]] == [h["ledger_entries"] for h in platform["hours"]]
    assert verify_zip(by_institution.zip_bytes()) == []


async def test_a_regulator_of_the_region_may_export(builder, scenario, people) -> None:
    regulator = await people.account(common_pb2.ROLE_REGULATOR, region_code="440000")
    archive = await builder.build(scenario.opened.class_id, regulator.token)
    assert sorted(r["enrollment"]["enrollment_id"] for r in archive.data["roster"]) == sorted(scenario.enrollments)
    # A regulator sees ID numbers whole in identity; the archive masks them.
    assert all("*" in r["trainee"]["national_id"] for r in archive.data["roster"])
    assert not archive.data["face_checks"]["available"]


async def test_the_wrong_callers_are_refused(builder, scenario, people, campus) -> None:
    class_id = scenario.opened.class_id
    elsewhere = await people.account(common_pb2.ROLE_REGULATOR, region_code="310000")
    other_school = await campus.school()
    steps: list[int] = []
    for caller, code in (
        (scenario.trainees[0], "PERMISSION_DENIED"),
        (await people.account(common_pb2.ROLE_EMPLOYER), "PERMISSION_DENIED"),
        (people.operator, "PERMISSION_DENIED"),
        (other_school.admin, "NOT_FOUND"),
        (elsewhere, "NOT_FOUND"),
    ):
        with pytest.raises(ArchiveRefused) as refused:
            await builder.build(class_id, caller.token, lambda n, m, what: steps.append(n))
        assert refused.value.code == code, caller.role
    with pytest.raises(ArchiveRefused) as refused:
        await builder.build(class_id, "not-a-token")
    assert refused.value.code == "UNAUTHENTICATED"
    assert set(steps) == {1}  # refused at the first step, before anything was collected


async def test_the_archive_carries_every_services_chain_heads_and_its_records_links(
    by_platform, by_institution, builder
) -> None:
    data = by_platform[0].data
    chains = data["chains"]
    assert set(chains) == {"identity", "learning", "exams", "certificates", "supervision"}
    for service, chain in chains.items():
        assert chain["available"], chain["unavailable_reason"]
        assert chain["heads"], service
        assert chain["link_refusals"] == []
        assert chain["records_without_link"] == [], service
        heads = {h["chain"]: h for h in chain["heads"]}
        for link in chain["links"]:
            # Each link follows from the one before it and sits within its chain's head.
            assert link["link_hash"] == link_hash(link["previous_hash"], link["record_digest"], int(link["position"]))
            assert 1 <= int(link["position"]) <= int(heads[link["chain"]]["length"])

    def linked(service: str, chain: str) -> set[str]:
        return {link["record_id"] for link in chains[service]["links"] if link["chain"] == chain}

    assert linked("learning", "learning.ledger_entries") == {
        e["entry_id"] for h in data["hours"] for e in h["ledger_entries"]
    }
    assert linked("identity", "identity.face_checks") == {r["face_check_id"] for r in data["face_checks"]["records"]}
    assert linked("exams", "exams.graded_attempts") == {a["attempt_id"] for a in data["exams"]["attempts"]}
    assert linked("certificates", "certificates.issuances") == {c["certificate_id"] for c in data["certificates"]}
    assert linked("certificates", "certificates.revocations") == {
        c["certificate_id"] for c in data["certificates"] if c["status"] == "CERTIFICATE_STATUS_REVOKED"
    }
    assert chains["supervision"]["links"] == []  # push records are not part of the archive; its heads are

    # The chains serve an institution links of its own records only: identity's face checks carry no
    # institution, so those stay without a link in its archive, and the archive says which.
    own = by_institution.data["chains"]
    assert own["learning"]["records_without_link"] == []
    assert own["identity"]["links"] == []
    assert set(own["identity"]["records_without_link"]) == {
        c["face_check_id"] for h in data["hours"] for c in h["study_face_checks"]
    } | {a["start_face_check_id"] for a in data["exams"]["attempts"]}


async def test_a_service_that_gives_no_chain_heads_is_named_not_faked(builder, scenario, rulebook_file) -> None:
    # Supervision's address answered by courses, which keeps no chains.
    targets = ServiceTargets(**{**builder.targets.__dict__, "supervision": builder.targets.courses})
    elsewhere = ArchiveBuilder(targets, rulebooks=[rulebook_file])
    try:
        archive = await elsewhere.build(scenario.opened.class_id, scenario.opened.school.admin.token)
    finally:
        await elsewhere.close()
    supervision = archive.data["chains"]["supervision"]
    assert not supervision["available"]
    assert supervision["heads"] == []
    assert supervision["links"] == []
    assert supervision["unavailable_reason"].startswith("chain heads unavailable from supervision: ")
    assert archive.data["chains"]["learning"]["available"]
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(archive.files["summary.pdf"])).pages)
    assert "chain heads unavailable from supervision" in text


async def test_the_export_command_writes_the_zip_and_prints_progress(
    builder, scenario, rulebook_file, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    targets = builder.targets
    settings = ArchiveSettings(
        identity_url=targets.identity,
        courses_url=targets.courses,
        learning_url=targets.learning,
        exams_url=targets.exams,
        certificates_url=targets.certificates,
        supervision_url=targets.supervision,
        rulebooks=rulebook_file,
        token=scenario.opened.school.admin.token,
    )
    out = tmp_path / "class.zip"

    assert await export(settings, scenario.opened.class_id, out, "") == 0

    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "[1/10] checking the caller and the class"
    assert "[10/10] the PDF summary and the manifest" in printed
    assert any(line.startswith(f"wrote {out}") for line in printed)
    assert any("withheld by identity" in line for line in printed)
    assert verify_zip(out.read_bytes()) == []

    refused = ArchiveSettings(**{**settings.model_dump(), "token": scenario.trainees[0].token})
    assert await export(refused, scenario.opened.class_id, tmp_path / "no.zip", "") == 3
    assert not (tmp_path / "no.zip").exists()


async def test_verify_checks_the_links_even_under_a_rewritten_manifest(by_platform, tmp_path, capsys) -> None:
    archive, _ = by_platform
    path = tmp_path / "class.zip"
    archive.write(path)
    assert main(["verify", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("intact")

    # Someone edits a ledger entry's link and recomputes the manifest: the link no longer follows.
    data = json.loads(json.dumps(archive.data))
    link = data["chains"]["learning"]["links"][0]
    link["record_digest"] = "0" * 64
    snapshots = {p: c for p, c in archive.files.items() if p.startswith("snapshots/")}
    forged = ClassArchive.assemble(data, snapshots, archive.files["summary.pdf"])
    forged.write(path)
    assert main(["verify", str(path)]) == 1
    printed = capsys.readouterr().out
    assert f"learning learning.ledger_entries #{link['position']} ({link['record_id']})" in printed
    assert "does not follow" in printed
