"""Collect one training class's record from the services, with the caller's own bearer token.

Every call carries the caller's token, so each service decides what the caller may see: an
institution or a regulator gets no face data from identity (identity gives it only to the trainee
and to platform services), a platform service gets the snapshots too, and every snapshot read is
logged by identity with the caller and the stated reason. What a service refuses is recorded in
the archive as refused, with the service's own words; nothing is filled in.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf import json_format

from training.certificates.v1 import certificates_pb2, certificates_pb2_grpc
from training.common.v1 import common_pb2
from training.courses.v1 import courses_pb2, courses_pb2_grpc
from training.exams.v1 import exams_pb2, exams_pb2_grpc
from training.identity.v1 import identity_pb2, identity_pb2_grpc
from training.learning.v1 import learning_pb2, learning_pb2_grpc
from training.records.v1 import records_pb2, records_pb2_grpc
from training_archive.package import SCHEMA_NAME, SCHEMA_VERSION, ClassArchive
from training_archive.summary import render_summary
from training_rulebook import RulebookSet
from training_rulebook.loading import RulebookError, load_rulebook
from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role
from training_runtime.auth.tokens import CachedKeySet, TokenVerifier
from training_runtime.clients import insecure_channel
from training_runtime.errors import DomainError
from training_runtime.masking import mask_national_id, mask_phone

log = logging.getLogger(__name__)

# (step, steps, what is being done): called before each step.
Progress = Callable[[int, int, str], None]

STEPS = (
    "checking the caller and the class",
    "the class, its institution, syllabus and courses",
    "the roster",
    "the rulebook in force",
    "hour ledgers, study sessions and study face checks",
    "face-check records and snapshots",
    "exam records",
    "certificates",
    "chain heads and links",
    "the PDF summary and the manifest",
)
# Who may export: an institution (its own classes), a regulator (its region's), a platform service.
EXPORTERS = frozenset({Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF, Role.REGULATOR, Role.SERVICE})
CHAIN_SERVICES = ("identity", "learning", "exams", "certificates", "supervision")
MAX_LINK_IDS = 1000


@dataclass(frozen=True)
class ServiceTargets:
    """Where the services answer (host:port); the defaults are `make run`'s."""

    identity: str = "127.0.0.1:50051"
    courses: str = "127.0.0.1:50052"
    learning: str = "127.0.0.1:50053"
    exams: str = "127.0.0.1:50054"
    certificates: str = "127.0.0.1:50055"
    supervision: str = "127.0.0.1:50056"


class ArchiveRefused(Exception):
    """The caller may not export this class. `code` is UNAUTHENTICATED, PERMISSION_DENIED or NOT_FOUND."""

    def __init__(self, code: str, detail: str, reason: str = "") -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.reason = reason


def as_dict(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _refusal(exc: grpc.aio.AioRpcError) -> dict[str, str]:
    return {"code": exc.code().name, "detail": exc.details() or ""}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class ArchiveBuilder:
    """Builds class archives against the services at `targets`. One builder serves many exports."""

    def __init__(
        self,
        targets: ServiceTargets | None = None,
        *,
        rulebooks: Iterable[str] = ("default", "demo"),
        timeout_seconds: float = 30.0,
    ) -> None:
        self.targets = targets or ServiceTargets()
        self._rulebook_specs = tuple(rulebooks)
        self._timeout = timeout_seconds
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._verifier = TokenVerifier(CachedKeySet(self._fetch_keys))

    def _channel(self, service: str) -> grpc.aio.Channel:
        if service not in self._channels:
            self._channels[service] = insecure_channel(getattr(self.targets, service))
        return self._channels[service]

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()

    async def _fetch_keys(self) -> tuple[dict[str, Ed25519PublicKey], float]:
        stub = identity_pb2_grpc.IdentityServiceStub(self._channel("identity"))
        response = await stub.GetPublicKeys(identity_pb2.GetPublicKeysRequest(), timeout=5)
        keys = {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key) for k in response.keys}
        return keys, float(response.cache_seconds or 300)

    async def caller(self, token: str) -> Principal:
        """The caller the token names, verified with identity's public keys; ArchiveRefused otherwise."""
        try:
            return await self._verifier.verify(token)
        except DomainError as exc:
            raise ArchiveRefused("UNAUTHENTICATED", str(exc), getattr(exc, "reason", "") or "TOKEN_INVALID") from None

    async def authorize(self, class_id: str, token: str) -> tuple[Principal, Any]:
        """Who the caller is and the class, if the caller may export it; ArchiveRefused otherwise."""
        principal = await self.caller(token)
        if principal.role not in EXPORTERS:
            raise ArchiveRefused(
                "PERMISSION_DENIED",
                "a class archive may be exported by the class's institution or a regulator of its region",
                "ARCHIVE_NOT_ALLOWED",
            )
        courses = courses_pb2_grpc.CoursesServiceStub(self._channel("courses"))
        try:
            answer = await courses.GetClass(
                courses_pb2.GetClassRequest(class_id=class_id), metadata=_bearer(token), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise ArchiveRefused("NOT_FOUND", f"no training class {class_id} that the caller may see") from None
            if exc.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
                raise ArchiveRefused(exc.code().name, exc.details() or "refused by courses") from None
            raise
        training_class = answer.training_class
        # Courses scopes classes already; the archive states its own rule as well.
        if principal.role in INSTITUTION_ROLES and training_class.institution_id != principal.institution_id:
            raise ArchiveRefused("NOT_FOUND", f"no training class {class_id} that the caller may see")
        if principal.role is Role.REGULATOR and not principal.covers_region(training_class.region_code):
            raise ArchiveRefused("NOT_FOUND", f"no training class {class_id} that the caller may see")
        return principal, training_class

    async def build(self, class_id: str, token: str, progress: Progress | None = None) -> ClassArchive:
        """The class's archive, as the caller may see it. Raises ArchiveRefused before collecting anything."""
        run = _Run(self, token, progress)
        return await run.build(class_id)

    def rulebook(self, version: str) -> tuple[str, dict[str, Any]] | None:
        """(document name, the version's rules) from the first configured document holding `version`."""
        for spec in self._rulebook_specs:
            try:
                document: RulebookSet = load_rulebook(spec)
            except RulebookError:
                log.warning("rulebook %s could not be loaded for the archive", spec)
                continue
            if version in document:
                return document.name, document.version(version).model_dump(mode="json")
        return None


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


class _Run:
    """One export: the calls in order, with progress."""

    def __init__(self, builder: ArchiveBuilder, token: str, progress: Progress | None) -> None:
        self.b = builder
        self.token = token
        self.metadata = _bearer(token)
        self.progress = progress or (lambda step, steps, what: None)
        self.step = 0
        self.snapshots: dict[str, bytes] = {}

    def advance(self, what: str | None = None) -> None:
        self.step += 1
        self.progress(self.step, len(STEPS), what or STEPS[self.step - 1])

    async def call(self, method: Callable[..., Awaitable[Any]], request: Any) -> Any:
        return await method(request, metadata=self.metadata, timeout=self.b._timeout)

    async def pages(self, method: Callable[..., Awaitable[Any]], request: Any, field: str) -> list[Any]:
        items: list[Any] = []
        token = ""
        while True:
            request.page.CopyFrom(common_pb2.PageRequest(page_size=200, page_token=token))
            answer = await self.call(method, request)
            items.extend(getattr(answer, field))
            token = answer.next_page_token
            if not token:
                return items

    def stub(self, service: str, stub_class: type) -> Any:
        return stub_class(self.b._channel(service))

    async def build(self, class_id: str) -> ClassArchive:
        self.advance()
        principal, training_class = await self.b.authorize(class_id, self.token)
        courses = self.stub("courses", courses_pb2_grpc.CoursesServiceStub)
        identity = self.stub("identity", identity_pb2_grpc.IdentityServiceStub)
        learning = self.stub("learning", learning_pb2_grpc.LearningServiceStub)
        exams = self.stub("exams", exams_pb2_grpc.ExamsServiceStub)
        certificates = self.stub("certificates", certificates_pb2_grpc.CertificatesServiceStub)

        self.advance()
        institution = await self.call(
            identity.GetInstitution, identity_pb2.GetInstitutionRequest(institution_id=training_class.institution_id)
        )
        syllabus = await self.call(
            courses.GetSyllabus, courses_pb2.GetSyllabusRequest(syllabus_id=training_class.syllabus_id)
        )
        course_set = []
        for course_id in training_class.course_ids:
            course = (await self.call(courses.GetCourse, courses_pb2.GetCourseRequest(course_id=course_id))).course
            decisions = await self.call(
                courses.ListCourseDecisions, courses_pb2.ListCourseDecisionsRequest(course_id=course_id)
            )
            course_set.append({**as_dict(course), "review_decisions": [as_dict(d) for d in decisions.decisions]})

        self.advance()
        enrollments = await self.pages(
            courses.ListEnrollments, courses_pb2.ListEnrollmentsRequest(class_id=class_id), "enrollments"
        )
        roster = []
        for enrollment in enrollments:
            user = (await self.call(identity.GetUser, identity_pb2.GetUserRequest(user_id=enrollment.trainee_id))).user
            roster.append(
                {
                    "enrollment": as_dict(enrollment),
                    "trainee": {
                        "user_id": user.user_id,
                        "display_name": user.display_name,
                        # Masked whatever the caller's role: the archive travels.
                        "national_id": mask_national_id(user.national_id),
                        "phone": mask_phone(user.phone),
                        "employer": as_dict(user.employer),
                        "region_code": user.region_code,
                    },
                }
            )

        self.advance()
        rulebooks = []
        found = self.b.rulebook(training_class.rulebook_version)
        if found is None:
            rulebooks.append({"version": training_class.rulebook_version, "available": False, "document": ""})
        else:
            rulebooks.append(
                {"version": training_class.rulebook_version, "available": True, "document": found[0], "rules": found[1]}
            )

        self.advance()
        hours = []
        study_face_check_ids: set[str] = set()
        for index, enrollment in enumerate(enrollments, start=1):
            self.progress(self.step, len(STEPS), f"hour ledger {index} of {len(enrollments)}")
            try:
                entries, progress_view = await self._ledger(learning, enrollment.enrollment_id)
                records = await self.call(
                    learning.ListStudyRecords,
                    learning_pb2.ListStudyRecordsRequest(enrollment_id=enrollment.enrollment_id),
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                # Learning learns of enrollments from courses' events: a moment after enrolling it
                # may not know one yet. Said, not skipped.
                hours.append(
                    {
                        "enrollment_id": enrollment.enrollment_id,
                        "trainee_id": enrollment.trainee_id,
                        "available": False,
                        "refused": _refusal(exc),
                        "progress": None,
                        "ledger_entries": [],
                        "study_sessions": [],
                        "study_face_checks": [],
                    }
                )
                continue
            study_face_check_ids.update(c.face_check_id for c in records.face_checks)
            hours.append(
                {
                    "enrollment_id": enrollment.enrollment_id,
                    "trainee_id": enrollment.trainee_id,
                    "available": True,
                    "refused": None,
                    "progress": as_dict(progress_view),
                    "ledger_entries": [as_dict(e) for e in entries],
                    "study_sessions": [as_dict(s) for s in records.sessions],
                    "study_face_checks": [as_dict(c) for c in records.face_checks],
                }
            )

        # Exams before face checks: an attempt names its start face check.
        exam_list = await self.pages(exams.ListExams, exams_pb2.ListExamsRequest(class_id=class_id), "exams")
        attempts = await self.pages(exams.ListAttempts, exams_pb2.ListAttemptsRequest(class_id=class_id), "attempts")
        exam_face_check_ids = {a.start_face_check_id for a in attempts if a.start_face_check_id}

        self.advance()
        # Identity's checks of this class: those its study and exam records name, and any other check
        # made in one of its study sessions or exam attempts (identity's context_ref).
        contexts = {f"study-session:{s['session_id']}" for h in hours for s in h["study_sessions"]} | {
            f"exam-attempt:{a.attempt_id}" for a in attempts
        }
        face_checks = await self._face_checks(
            identity,
            class_id,
            [e.trainee_id for e in enrollments],
            study_face_check_ids | exam_face_check_ids,
            contexts,
        )

        self.advance()
        exam_records = {
            "exams": [as_dict(e) for e in exam_list],
            "attempts": [
                as_dict(a) for a in sorted(attempts, key=lambda a: (a.trainee_id, a.started_at.ToNanoseconds()))
            ],
        }

        self.advance()
        certificate_list = await self.pages(
            certificates.ListCertificates,
            certificates_pb2.ListCertificatesRequest(class_id=class_id),
            "certificates",
        )

        self.advance()
        # Each service's chains are asked for the links of every record of this archive it keeps;
        # a chain answers for the ids it holds (and the caller may see).
        record_ids = {
            "identity": sorted(
                study_face_check_ids | exam_face_check_ids | {r["face_check_id"] for r in face_checks["records"]}
            ),
            "learning": sorted(e["entry_id"] for h in hours for e in h["ledger_entries"]),
            "exams": sorted(a.attempt_id for a in attempts),
            "certificates": sorted(c.certificate_id for c in certificate_list),
            "supervision": [],
        }
        chains = await self._chains(record_ids)

        self.advance()
        data: dict[str, Any] = {
            "schema": SCHEMA_NAME,
            "schema_version": SCHEMA_VERSION,
            "generated_at": _now(),
            "generated_by": {"subject": principal.subject, "role": principal.role.value},
            "class": as_dict(training_class),
            "institution": as_dict(institution.institution),
            "syllabus": as_dict(syllabus.syllabus),
            "courses": course_set,
            "rulebooks": rulebooks,
            "roster": roster,
            "hours": hours,
            "face_checks": face_checks,
            "exams": exam_records,
            "certificates": [as_dict(c) for c in certificate_list],
            "chains": chains,
        }
        return ClassArchive.assemble(data, self.snapshots, render_summary(data))

    async def _ledger(self, learning: Any, enrollment_id: str) -> tuple[list[Any], Any]:
        entries: list[Any] = []
        token = ""
        while True:
            answer = await self.call(
                learning.ExplainHours,
                learning_pb2.ExplainHoursRequest(
                    enrollment_id=enrollment_id, page=common_pb2.PageRequest(page_size=200, page_token=token)
                ),
            )
            entries.extend(answer.entries)
            token = answer.next_page_token
            if not token:
                return entries, answer.progress

    async def _face_checks(
        self, identity: Any, class_id: str, trainee_ids: list[str], referenced: set[str], contexts: set[str]
    ) -> dict[str, Any]:
        """Identity's records of the checks this class's study and exams made, with their snapshots,
        if identity lets the caller read them (it logs every read with the caller and this reason)."""
        reason = f"class archive (一期一档) of training class {class_id}"
        records: list[dict[str, Any]] = []
        for trainee_id in trainee_ids:
            try:
                checks = await self.pages(
                    identity.ListFaceChecks,
                    identity_pb2.ListFaceChecksRequest(user_id=trainee_id, reason=reason),
                    "face_checks",
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.PERMISSION_DENIED:
                    raise
                return {"available": False, "refused": _refusal(exc), "reason_given": reason, "records": []}
            for check in sorted(checks, key=lambda c: c.checked_at.ToNanoseconds()):
                if check.face_check_id not in referenced and check.context_ref not in contexts:
                    continue
                record = {**as_dict(check), "snapshot": None}
                if check.has_snapshot:
                    try:
                        snapshot = await self.call(
                            identity.GetFaceSnapshot,
                            identity_pb2.GetFaceSnapshotRequest(face_check_id=check.face_check_id, reason=reason),
                        )
                    except grpc.aio.AioRpcError as exc:
                        if exc.code() != grpc.StatusCode.NOT_FOUND:
                            raise
                        # Deleted with the trainee's face data since the listing: the record stays.
                        records.append(record)
                        continue
                    path = f"snapshots/{check.face_check_id}.jpg"
                    self.snapshots[path] = snapshot.image
                    record["snapshot"] = path
                records.append(record)
        return {"available": True, "refused": None, "reason_given": reason, "records": records}

    async def _chains(self, record_ids: dict[str, list[str]]) -> dict[str, Any]:
        """Each service's chain heads and the links of this archive's records, or why there are none."""
        result: dict[str, Any] = {}
        for service in CHAIN_SERVICES:
            entry: dict[str, Any] = {"available": False, "unavailable_reason": "", "service": service}
            if not getattr(self.b.targets, service):
                entry.update(
                    unavailable_reason=f"chain heads unavailable from {service}: no address configured",
                    heads=[],
                    links=[],
                )
                result[service] = entry
                continue
            stub = self.stub(service, records_pb2_grpc.RecordChainServiceStub)
            try:
                heads = await self.call(stub.GetChainHeads, records_pb2.GetChainHeadsRequest())
            except grpc.aio.AioRpcError as exc:
                entry["unavailable_reason"] = (
                    f"chain heads unavailable from {service}: {exc.code().name} {exc.details() or ''}".strip()
                )
                entry["heads"] = []
                entry["links"] = []
                result[service] = entry
                continue
            entry["available"] = True
            entry["heads"] = [as_dict(h) for h in heads.heads]
            links: list[dict[str, Any]] = []
            refusals: list[dict[str, str]] = []
            ids = record_ids.get(service, [])
            for head in heads.heads:
                for start in range(0, len(ids), MAX_LINK_IDS):
                    chunk = ids[start : start + MAX_LINK_IDS]
                    try:
                        answer = await self.call(
                            stub.GetChainLinks, records_pb2.GetChainLinksRequest(chain=head.chain, record_ids=chunk)
                        )
                    except grpc.aio.AioRpcError as exc:
                        refusals.append({"chain": head.chain, **_refusal(exc)})
                        continue
                    links.extend({"chain": head.chain, **as_dict(link)} for link in answer.links)
            entry["links"] = links
            entry["link_refusals"] = refusals
            linked = {link["record_id"] for link in links}
            entry["records_without_link"] = [i for i in ids if i not in linked]
            result[service] = entry
        return result
