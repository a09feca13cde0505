"""The archive's PDF summary: the class, the roster with each trainee's hours, exam and certificate,
the courseware, the rulebook, what identity withheld, and the chain heads.

Chinese text uses the PDF standard CID font STSong-Light, as certificates does (viewers supply it,
so no font file ships); text made only of ASCII uses Helvetica.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

CJK = "STSong-Light"
if CJK not in pdfmetrics.getRegisteredFontNames():
    pdfmetrics.registerFont(UnicodeCIDFont(CJK))

WIDTH, HEIGHT = A4
LEFT = 18 * mm
BOTTOM = 18 * mm


class _Writer:
    def __init__(self, title: str) -> None:
        self.buffer = io.BytesIO()
        self.pdf = canvas.Canvas(self.buffer, pagesize=A4, invariant=True)
        self.pdf.setTitle(title)
        self.y = HEIGHT - 20 * mm
        self.page = 1

    def _room(self, needed: float) -> None:
        if self.y - needed < BOTTOM:
            self.pdf.setFont("Helvetica", 8)
            self.pdf.drawRightString(WIDTH - LEFT, 10 * mm, f"page {self.page}")
            self.pdf.showPage()
            self.page += 1
            self.y = HEIGHT - 20 * mm

    def text(self, x: float, value: str, size: float) -> None:
        font = "Helvetica" if value.isascii() else CJK
        self.pdf.setFont(font, size)
        self.pdf.drawString(x, self.y, value)

    def heading(self, value: str) -> None:
        self._room(14 * mm)
        self.y -= 4 * mm
        self.text(LEFT, value, 13)
        self.y -= 7 * mm

    def line(self, value: str, *, size: float = 9, indent: float = 0) -> None:
        self._room(6 * mm)
        self.text(LEFT + indent, value, size)
        self.y -= 5 * mm

    def row(self, columns: list[tuple[float, str]], *, size: float = 8.5) -> None:
        self._room(6 * mm)
        for x, value in columns:
            self.text(LEFT + x * mm, value, size)
        self.y -= 5 * mm

    def finish(self) -> bytes:
        self.pdf.setFont("Helvetica", 8)
        self.pdf.drawRightString(WIDTH - LEFT, 10 * mm, f"page {self.page}")
        self.pdf.showPage()
        self.pdf.save()
        return self.buffer.getvalue()


def _hours(progress: dict[str, Any]) -> str:
    return f"{float(progress.get('credited_hours', 0)):.2f} / {progress.get('required_hours', 0)}"


def render_summary(data: dict[str, Any]) -> bytes:
    klass = data["class"]
    w = _Writer(f"Class archive {klass['class_id']}")
    w.line("培训档案（一期一档）", size=18)
    w.line("Class archive", size=10)
    w.y -= 2 * mm
    w.line(f"班级 {klass['title']}")
    w.line(f"class_id {klass['class_id']}")
    w.line(f"培训机构 {data['institution'].get('name', '')}")
    w.line(f"institution_id {klass['institution_id']}  region {klass['region_code']}")
    w.line(f"{klass['qualification_type']} {klass['training_kind']} {klass.get('operation_type', '')}".strip())
    w.line(f"rulebook {klass['rulebook_version']}  opened {klass.get('opened_at', '')}")
    w.line(f"generated {data['generated_at']} by {data['generated_by']['role']} {data['generated_by']['subject']}")
    w.line(f"schema {data['schema']} version {data['schema_version']}")

    progress = {h["enrollment_id"]: h["progress"] or {} for h in data["hours"]}
    best: dict[str, dict[str, Any]] = {}
    for attempt in data["exams"]["attempts"]:
        if attempt.get("kind") == "EXAM_KIND_FINAL":
            current = best.get(attempt["trainee_id"])
            if current is None or float(attempt.get("score", 0)) > float(current.get("score", 0)):
                best[attempt["trainee_id"]] = attempt
    certificates = {c["trainee_id"]: c for c in data["certificates"]}

    w.heading(f"学员名册 Roster ({len(data['roster'])})")
    w.row([(0, "姓名"), (28, "身份证号"), (70, "学时 hours"), (100, "状态 state"), (132, "考试 exam"), (152, "证书")])
    for entry in data["roster"]:
        trainee = entry["trainee"]
        p = progress.get(entry["enrollment"]["enrollment_id"], {})
        attempt = best.get(trainee["user_id"])
        exam = f"{float(attempt['score']):.0f}{' pass' if attempt.get('passed') else ''}" if attempt else "-"
        certificate = certificates.get(trainee["user_id"])
        cert = (
            f"{certificate['serial_number']}{' REVOKED' if certificate['status'].endswith('REVOKED') else ''}"
            if certificate
            else "-"
        )
        state = str(p.get("state", "")).removeprefix("ENROLLMENT_STATE_")
        w.row(
            [
                (0, trainee["display_name"]),
                (28, trainee["national_id"]),
                (70, _hours(p) if p else "-"),
                (100, state),
                (132, exam),
                (152, cert),
            ]
        )

    w.heading("课程与课件版本 Courses")
    for course in data["courses"]:
        w.line(f"{course['title']}  v{course['version']}  {course['status']}")
        w.line(f"course_id {course['course_id']}  lessons {len(course['lessons'])}", indent=4 * mm, size=8)
        for decision in course["review_decisions"]:
            w.line(
                f"v{decision['version']} {decision['status']} {decision['decided_at']} {decision['actor_role']}",
                indent=8 * mm,
                size=8,
            )

    w.heading("学时规则 Rulebook")
    for rulebook in data["rulebooks"]:
        state = f"document {rulebook['document']}" if rulebook["available"] else "not held by this exporter"
        w.line(f"{rulebook['version']}: {state}")

    faces = data["face_checks"]
    study_checks = sum(len(h["study_face_checks"]) for h in data["hours"])
    entries = sum(len(h["ledger_entries"]) for h in data["hours"])
    w.heading("记录数 Records")
    w.line(f"ledger entries {entries}; study face checks {study_checks}")
    if faces["available"]:
        with_snapshot = sum(1 for r in faces["records"] if r["snapshot"])
        w.line(f"identity face-check records {len(faces['records'])}; snapshots {with_snapshot}")
    else:
        w.line(f"identity face-check records and snapshots withheld: {faces['refused']['detail']}")
    w.line(f"exam attempts {len(data['exams']['attempts'])}; certificates {len(data['certificates'])}")

    w.heading("链头 Chain heads")
    for service, chain in data["chains"].items():
        if not chain["available"]:
            w.line(chain["unavailable_reason"][:110], size=8)
            continue
        for head in chain["heads"]:
            w.line(f"{head['chain']}  length {head['length']}  {head['head_hash']}", size=7.5)
        w.line(
            f"{service}: {len(chain['links'])} links for this archive's records; "
            f"{len(chain['records_without_link'])} records without a link",
            size=8,
            indent=4 * mm,
        )
    return w.finish()
