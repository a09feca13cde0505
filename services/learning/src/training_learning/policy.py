"""Who may call each learning RPC. Row scoping (own record, institution, region, employer) is in the app layer."""

from training_records import RECORD_CHAIN_RULES, RECORD_CHAIN_SERVICE
from training_runtime.auth import AccessPolicy, Role, allow

R = Role
READERS = (R.TRAINEE, R.INSTITUTION_ADMIN, R.INSTITUTION_STAFF, R.REGULATOR, R.EMPLOYER, R.SERVICE)

POLICY = AccessPolicy(
    "training.learning.v1.LearningService",
    {
        "StartStudy": allow(R.TRAINEE),
        "SendHeartbeat": allow(R.TRAINEE),
        "StreamHeartbeats": allow(R.TRAINEE),
        "SubmitFaceCheck": allow(R.TRAINEE),
        "EndStudy": allow(R.TRAINEE),
        "GetProgress": allow(*READERS),
        "ExplainHours": allow(*READERS),
        "ListStudyRecords": allow(*READERS),
        "ListAnomalies": allow(R.INSTITUTION_ADMIN, R.INSTITUTION_STAFF, R.REGULATOR),
        "ReviewAnomaly": allow(R.INSTITUTION_ADMIN, R.INSTITUTION_STAFF),
        "CorrectHours": allow(R.INSTITUTION_ADMIN),
        "InvalidateHours": allow(R.INSTITUTION_ADMIN, R.REGULATOR, R.SERVICE),
    },
).including(RECORD_CHAIN_SERVICE, RECORD_CHAIN_RULES)
