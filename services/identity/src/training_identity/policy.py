"""Who may call each identity RPC. Row scoping (own record, institution, region) is in the app layer."""

from training_records import RECORD_CHAIN_RULES, RECORD_CHAIN_SERVICE
from training_runtime.auth import AccessPolicy, Role, allow, public

R = Role
EVERYONE = (
    R.TRAINEE,
    R.INSTITUTION_ADMIN,
    R.INSTITUTION_STAFF,
    R.EMPLOYER,
    R.OPERATOR,
    R.REGULATOR,
    R.EXAM_INSTITUTION,
)

POLICY = AccessPolicy(
    "training.identity.v1.IdentityService",
    {
        "RegisterTrainee": public(),
        "Login": public(),
        "RefreshToken": public(),
        "Logout": public(),
        "ChangePassword": allow(*EVERYONE),
        "IssueServiceToken": public(),
        "GetPublicKeys": public(),
        "CreateAccount": allow(R.OPERATOR, R.INSTITUTION_ADMIN),
        "GetUser": allow(*EVERYONE, R.SERVICE),
        "ListUsers": allow(R.OPERATOR, R.REGULATOR, R.INSTITUTION_ADMIN, R.INSTITUTION_STAFF, R.EMPLOYER, R.SERVICE),
        "RegisterInstitution": allow(R.OPERATOR),
        "SuspendInstitution": allow(R.OPERATOR, R.REGULATOR, R.SERVICE),
        "ReinstateInstitution": allow(R.OPERATOR, R.REGULATOR),
        "GetInstitution": allow(*EVERYONE, R.SERVICE),
        "ListInstitutions": allow(*EVERYONE, R.SERVICE),
        "RecordFaceConsent": allow(R.TRAINEE),
        "EnrollFace": allow(R.TRAINEE),
        "VerifyFace": allow(R.TRAINEE, R.SERVICE),
        "DeleteFaceData": allow(R.TRAINEE, R.OPERATOR),
        "WithdrawFaceConsent": allow(R.TRAINEE),
        "GetFaceStatus": allow(R.TRAINEE, R.SERVICE),
        "ListFaceChecks": allow(R.TRAINEE, R.SERVICE),
        "GetFaceSnapshot": allow(R.TRAINEE, R.SERVICE),
    },
).including(RECORD_CHAIN_SERVICE, RECORD_CHAIN_RULES)
