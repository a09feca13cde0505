"""Who may call each exams RPC. Row scoping (own attempts, own institution, region, employer) is in the app layer."""

from training_records import RECORD_CHAIN_RULES, RECORD_CHAIN_SERVICE
from training_runtime.auth import AccessPolicy, Role, allow

R = Role
INSTITUTION = (R.INSTITUTION_ADMIN, R.INSTITUTION_STAFF)
SUPERVISORS = (*INSTITUTION, R.OPERATOR, R.REGULATOR)

POLICY = AccessPolicy(
    "training.exams.v1.ExamsService",
    {
        "ImportBank": allow(R.OPERATOR, *INSTITUTION),
        "ReviewBankVersion": allow(R.OPERATOR),
        "GetBank": allow(*SUPERVISORS, R.SERVICE),
        "ListBanks": allow(*SUPERVISORS, R.SERVICE),
        "ExportBank": allow(R.OPERATOR, *INSTITUTION),
        "CreateExam": allow(R.INSTITUTION_ADMIN),
        "GetExam": allow(R.TRAINEE, *SUPERVISORS, R.SERVICE),
        "ListExams": allow(R.TRAINEE, *SUPERVISORS, R.SERVICE),
        "PreviewPaper": allow(*SUPERVISORS),
        "StartAttempt": allow(R.TRAINEE),
        "SaveAnswer": allow(R.TRAINEE),
        "RecordPageLeave": allow(R.TRAINEE),
        "SubmitAttempt": allow(R.TRAINEE),
        "GetAttempt": allow(R.TRAINEE, *SUPERVISORS, R.EMPLOYER, R.SERVICE),
        "ListAttempts": allow(R.TRAINEE, *SUPERVISORS, R.EMPLOYER, R.SERVICE),
    },
).including(RECORD_CHAIN_SERVICE, RECORD_CHAIN_RULES)
