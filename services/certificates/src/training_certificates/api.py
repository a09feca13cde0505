"""The gRPC servicer: proto in, use case, proto out. No rules here."""

from __future__ import annotations

import asyncio

import grpc
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf.message import Message

from training.certificates.v1 import certificates_pb2 as pb
from training.certificates.v1 import certificates_pb2_grpc
from training_certificates.app.certificates import Certificates
from training_certificates.app.records import REVOKED, VALID, CertificateView
from training_certificates.app.verification import Answer, Result, Verifier
from training_certificates.domain.signing import CertificateKeys
from training_certificates.rendering import render_pdf
from training_runtime.auth import require_principal
from training_runtime.auth.tokens import raw_public_key
from training_runtime.protoconv import kind_to_proto, qualification_to_proto, timestamp
from training_runtime.vocabulary import QualificationType, TrainingKind

_STATUS = {VALID: pb.CERTIFICATE_STATUS_VALID, REVOKED: pb.CERTIFICATE_STATUS_REVOKED}
_STATUS_BACK = {pb.CERTIFICATE_STATUS_VALID: VALID, pb.CERTIFICATE_STATUS_REVOKED: REVOKED}
_RESULT = {
    Result.VALID: pb.VERIFICATION_RESULT_VALID,
    Result.REVOKED: pb.VERIFICATION_RESULT_REVOKED,
    Result.TAMPERED: pb.VERIFICATION_RESULT_TAMPERED,
    Result.UNKNOWN: pb.VERIFICATION_RESULT_UNKNOWN,
    Result.RETENTION_ENDED: pb.VERIFICATION_RESULT_RETENTION_ENDED,
}


def certificate_proto(view: CertificateView) -> pb.Certificate:
    d = view.document
    return pb.Certificate(
        certificate_id=d.certificate_id,
        serial_number=d.serial_number,
        verification_code=d.verification_code,
        enrollment_id=d.enrollment_id,
        class_id=d.class_id,
        trainee_id=d.trainee_id,
        trainee_name=d.trainee_name,
        trainee_national_id=d.trainee_national_id,
        qualification_type=qualification_to_proto(QualificationType(d.qualification_type)),
        operation_type=d.operation_type,
        training_kind=kind_to_proto(TrainingKind(d.training_kind)),
        institution_id=d.institution_id,
        institution_name=d.institution_name,
        region_code=d.region_code,
        period_start=timestamp(d.period_start),
        period_end=timestamp(d.period_end),
        topics=[
            pb.TopicHours(
                topic_id=t.topic_id,
                topic_code=t.topic_code,
                required_hours=t.required_hours,
                credited_hours=t.credited_hours,
            )
            for t in d.topics
        ],
        total_hours=d.total_hours,
        exam_score=d.exam_score,
        exam_max_points=d.exam_max_points,
        exam_pass_mark=d.exam_pass_mark,
        issue_date=d.issue_date.isoformat(),
        valid_until=d.valid_until.isoformat(),
        status=_STATUS[view.status],
        revoked_at=timestamp(view.revoked_at),
        revocation_reason=view.revocation_reason,
        key_id=view.key_id,
        signature=view.signature,
        qr_token=view.qr_token,
        issued_at=timestamp(d.issued_at),
    )


def verification_proto(answer: Answer) -> pb.Verification:
    verification = pb.Verification(result=_RESULT[answer.result])
    if answer.certificate is not None and answer.result in (Result.VALID, Result.REVOKED):
        d = answer.certificate.document
        verification.certificate.CopyFrom(
            pb.VerifiedCertificate(
                serial_number=d.serial_number,
                trainee_name=d.trainee_name,
                trainee_national_id=d.trainee_national_id,
                qualification_type=qualification_to_proto(QualificationType(d.qualification_type)),
                operation_type=d.operation_type,
                training_kind=kind_to_proto(TrainingKind(d.training_kind)),
                institution_name=d.institution_name,
                total_hours=d.total_hours,
                exam_score=d.exam_score,
                issue_date=d.issue_date.isoformat(),
                valid_until=d.valid_until.isoformat(),
            )
        )
    if answer.result is Result.REVOKED:
        verification.revoked_at.CopyFrom(timestamp(answer.revoked_at))
        verification.revocation_reason = answer.revocation_reason
    return verification


class CertificatesServicer(certificates_pb2_grpc.CertificatesServiceServicer):
    def __init__(
        self, certificates: Certificates, verifier: Verifier, keys: CertificateKeys, *, verification_url: str = ""
    ) -> None:
        self._certificates = certificates
        self._verifier = verifier
        self._verification_url = verification_url
        # (response type, id(answer)) -> (answer, response); the answer is kept so that its id is not
        # reused by another object while the entry exists.
        self._built: dict[tuple[type[Message], int], tuple[Answer, Message]] = {}
        self._keys = pb.GetVerificationKeysResponse(
            keys=[
                pb.VerificationKey(
                    key_id=kid,
                    public_key=raw_public_key(key),
                    public_key_pem=key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(),
                )
                for kid, key in keys.public_keys().items()
            ]
        )

    def _response(self, kind: type[Message], answer: Answer) -> Message:
        """The answer as a response, built once per cached answer (verification is the hot path)."""
        key = (kind, id(answer))
        built = self._built.get(key)
        if built is not None and built[0] is answer:
            return built[1]
        response = kind(verification=verification_proto(answer))
        if len(self._built) > 100_000:
            self._built.clear()
        self._built[key] = (answer, response)
        return response

    async def VerifyCertificate(self, request: pb.VerifyCertificateRequest, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
        answer = await self._verifier.by_code(request.serial_number, request.verification_code)
        return self._response(pb.VerifyCertificateResponse, answer)

    async def VerifyCertificateToken(self, request: pb.VerifyCertificateTokenRequest, context):  # type: ignore[no-untyped-def]
        answer = await self._verifier.by_token(request.token)
        return self._response(pb.VerifyCertificateTokenResponse, answer)

    async def GetVerificationKeys(self, request: pb.GetVerificationKeysRequest, context):  # type: ignore[no-untyped-def]
        return self._keys

    async def GetCertificate(self, request: pb.GetCertificateRequest, context):  # type: ignore[no-untyped-def]
        view = await self._certificates.get(require_principal(), request.certificate_id, request.serial_number)
        return pb.GetCertificateResponse(certificate=certificate_proto(view))

    async def ListCertificates(self, request: pb.ListCertificatesRequest, context):  # type: ignore[no-untyped-def]
        views, token = await self._certificates.list(
            require_principal(),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            trainee_id=request.trainee_id,
            institution_id=request.institution_id,
            class_id=request.class_id,
            status=_STATUS_BACK.get(request.status),
        )
        return pb.ListCertificatesResponse(certificates=[certificate_proto(v) for v in views], next_page_token=token)

    async def RevokeCertificate(self, request: pb.RevokeCertificateRequest, context):  # type: ignore[no-untyped-def]
        view = await self._certificates.revoke(
            require_principal(), request.certificate_id, request.serial_number, request.reason
        )
        return pb.RevokeCertificateResponse(certificate=certificate_proto(view))

    async def RenderCertificatePdf(self, request: pb.RenderCertificatePdfRequest, context):  # type: ignore[no-untyped-def]
        view = await self._certificates.get(require_principal(), request.certificate_id)
        # Rendering is CPU work of tens of milliseconds: off the event loop.
        pdf = await asyncio.to_thread(render_pdf, view, self._verification_url)
        return pb.RenderCertificatePdfResponse(pdf=pdf, file_name=f"certificate-{view.document.serial_number}.pdf")
