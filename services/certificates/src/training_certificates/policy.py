"""Who may call each certificates RPC. Row scoping (own certificate, institution, region, employer)
is in the app layer (domain/access.py)."""

from training_records import RECORD_CHAIN_RULES, RECORD_CHAIN_SERVICE
from training_runtime.auth import AccessPolicy, Role, allow, public

R = Role
READERS = (
    R.TRAINEE,
    R.INSTITUTION_ADMIN,
    R.INSTITUTION_STAFF,
    R.EMPLOYER,
    R.OPERATOR,
    R.REGULATOR,
    R.EXAM_INSTITUTION,
    R.SERVICE,
)

POLICY = AccessPolicy(
    "training.certificates.v1.CertificatesService",
    {
        "VerifyCertificate": public(),
        "VerifyCertificateToken": public(),
        "GetVerificationKeys": public(),
        "GetCertificate": allow(*READERS),
        "ListCertificates": allow(*READERS),
        # SERVICE: supervision relaying a regulator command, which then acts as a regulator.
        "RevokeCertificate": allow(R.INSTITUTION_ADMIN, R.REGULATOR, R.SERVICE),
        "RenderCertificatePdf": allow(*READERS),
    },
).including(RECORD_CHAIN_SERVICE, RECORD_CHAIN_RULES)
