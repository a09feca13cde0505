"""The certificate as a PDF: the printed contents and a QR code carrying the signed token.

The QR code is a PNG image (segno) placed on the page, so what scans it is the token itself. Chinese
text uses the PDF standard CID font STSong-Light, which viewers supply, so no font file ships here.
"""

from __future__ import annotations

import io

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from training_certificates.app.records import REVOKED, CertificateView
from training_certificates.domain.document import CHINA
from training_runtime.vocabulary import OPERATION_TYPES

CJK = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(CJK))

QUALIFICATIONS = {
    "principal_high_risk": "高危行业生产经营单位主要负责人",
    "safety_manager_high_risk": "高危行业生产经营单位安全生产管理人员",
    "special_operation": "特种作业人员",
    "principal_non_high_risk": "非高危行业生产经营单位主要负责人",
    "safety_manager_non_high_risk": "非高危行业生产经营单位安全生产管理人员",
}
KINDS = {"initial": "初训", "refresher": "复训"}


def qr_png(token: str, *, scale: int = 4) -> bytes:
    buffer = io.BytesIO()
    segno.make(token, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def render_pdf(view: CertificateView) -> bytes:
    d = view.document
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(f"Training-hour certificate {d.serial_number}")
    pdf.setSubject(d.serial_number)
    width, height = A4
    left = 22 * mm
    y = height - 30 * mm

    pdf.setFont(CJK, 22)
    pdf.drawCentredString(width / 2, y, "安全生产培训学时证明")
    y -= 9 * mm
    pdf.setFont("Helvetica", 10)
    pdf.drawCentredString(width / 2, y, "Training-hour certificate")
    y -= 14 * mm

    def line(label: str, value: str, *, font: str = CJK) -> None:
        nonlocal y
        pdf.setFont(CJK, 11)
        pdf.drawString(left, y, label)
        pdf.setFont(font, 11)
        pdf.drawString(left + 38 * mm, y, value)
        y -= 8 * mm

    line("证书编号", d.serial_number, font="Helvetica")
    line("验证码", view.document.verification_code, font="Helvetica")
    line("姓名", d.trainee_name)
    line("身份证号", d.trainee_national_id, font="Helvetica")
    qualification = QUALIFICATIONS.get(d.qualification_type, d.qualification_type)
    if d.operation_type:
        qualification += "（" + OPERATION_TYPES.get(d.operation_type, d.operation_type) + "）"
    line("培训类别", qualification)
    line("培训性质", KINDS.get(d.training_kind, d.training_kind))
    line("培训机构", d.institution_name)
    period = f"{d.period_start.astimezone(CHINA):%Y-%m-%d} – {d.period_end.astimezone(CHINA):%Y-%m-%d}"
    line("培训时间", period, font="Helvetica")
    for topic in d.topics:
        line(
            f"学时（{topic.topic_code or topic.topic_id[:8]}）", f"{topic.credited_hours:.2f} / {topic.required_hours}"
        )
    line("总学时", f"{d.total_hours:.2f}", font="Helvetica")
    line("考试成绩", f"{d.exam_score:.1f} / {d.exam_max_points:.0f} (pass {d.exam_pass_mark:.0f})", font="Helvetica")
    line("发证日期", d.issue_date.isoformat(), font="Helvetica")
    line("有效期至", d.valid_until.isoformat(), font="Helvetica")
    if view.status == REVOKED:
        pdf.setFillColorRGB(0.8, 0, 0)
        line("状态", f"已撤销 REVOKED: {view.revocation_reason}")
        pdf.setFillColorRGB(0, 0, 0)

    size = 60 * mm
    pdf.drawImage(ImageReader(io.BytesIO(qr_png(view.qr_token))), width - left - size, 30 * mm, size, size)
    pdf.setFont(CJK, 9)
    pdf.drawString(left, 40 * mm, "扫描二维码或凭证书编号与验证码在平台公开验证。")
    pdf.setFont("Helvetica", 8)
    pdf.drawString(left, 34 * mm, f"Signed with Ed25519, key {view.key_id}; verify the QR token offline with the")
    pdf.drawString(left, 30 * mm, "published public key (CertificatesService/GetVerificationKeys).")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
