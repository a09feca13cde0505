"""Training-hour certificates (certificates): the owner's list and PDF, the institution's or a
regulator's revocation, and public verification without an account (rate-limited per client)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from training.certificates.v1 import certificates_pb2 as pb
from training.certificates.v1 import certificates_pb2_grpc
from training.common.v1 import common_pb2
from training_gateway.deps import Auth, Body, Id, PageSize, Services, Text, answers, enum_names, to_json
from training_gateway.problems import documented_errors
from training_gateway.ratelimit import rate_limit

router = APIRouter(prefix="/api/v1", tags=["certificates"])


def _certificates(services: Services) -> certificates_pb2_grpc.CertificatesServiceStub:
    return services.stub("certificates", certificates_pb2_grpc.CertificatesServiceStub)


class RevokeBody(Body):
    reason: Text


@router.get(
    "/certificates", summary="Certificates the caller may see, newest first", **answers(pb.ListCertificatesResponse)
)
async def list_certificates(
    services: Services,
    auth: Auth,
    trainee_id: str = "",
    institution_id: str = "",
    class_id: str = "",
    status: enum_names(pb.CertificateStatus) | None = None,  # type: ignore[valid-type]
    page_size: PageSize = 0,
    page_token: str = "",
):
    request = pb.ListCertificatesRequest(
        page=common_pb2.PageRequest(page_size=page_size, page_token=page_token),
        trainee_id=trainee_id,
        institution_id=institution_id,
        class_id=class_id,
        status=pb.CertificateStatus.Value(status) if status else 0,
    )
    return to_json(await services.call(_certificates(services).ListCertificates, request, auth))


@router.get("/certificates/{certificate_id}", summary="One certificate", **answers(pb.GetCertificateResponse))
async def get_certificate(certificate_id: Id, services: Services, auth: Auth):
    request = pb.GetCertificateRequest(certificate_id=certificate_id)
    return to_json(await services.call(_certificates(services).GetCertificate, request, auth))


@router.get(
    "/certificates/{certificate_id}/pdf",
    summary="The certificate as a PDF with its QR code",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **documented_errors(400, 401, 403, 404, 429, 502, 503, 504)},
)
async def certificate_pdf(certificate_id: Id, services: Services, auth: Auth) -> Response:
    request = pb.RenderCertificatePdfRequest(certificate_id=certificate_id)
    rendered = await services.call(_certificates(services).RenderCertificatePdf, request, auth)
    return Response(
        rendered.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{rendered.file_name}"'},
    )


@router.post(
    "/certificates/{certificate_id}/revocation",
    summary="Revoke a certificate with a reason (institution admin, regulator)",
    **answers(pb.RevokeCertificateResponse),
)
async def revoke_certificate(certificate_id: Id, body: RevokeBody, services: Services, auth: Auth):
    request = pb.RevokeCertificateRequest(certificate_id=certificate_id, reason=body.reason)
    return to_json(await services.call(_certificates(services).RevokeCertificate, request, auth))


@router.get(
    "/public/certificates/verification",
    summary="Verify a certificate by serial number and verification code (public, rate-limited)",
    dependencies=[Depends(rate_limit("verify"))],
    **answers(pb.VerifyCertificateResponse),
)
async def verify_certificate(services: Services, serial_number: str = "", verification_code: str = ""):
    request = pb.VerifyCertificateRequest(serial_number=serial_number, verification_code=verification_code)
    return to_json(await services.call(_certificates(services).VerifyCertificate, request, None))


@router.get(
    "/public/certificates/token-verification",
    summary="Verify the signed token a certificate's QR code carries (public, rate-limited)",
    dependencies=[Depends(rate_limit("verify"))],
    **answers(pb.VerifyCertificateTokenResponse),
)
async def verify_certificate_token(services: Services, token: str = ""):
    request = pb.VerifyCertificateTokenRequest(token=token)
    return to_json(await services.call(_certificates(services).VerifyCertificateToken, request, None))


@router.get(
    "/public/certificates/keys",
    summary="The public keys certificates are signed with, for offline verification",
    **answers(pb.GetVerificationKeysResponse),
)
async def verification_keys(services: Services):
    request = pb.GetVerificationKeysRequest()
    return to_json(await services.call(_certificates(services).GetVerificationKeys, request, None))
