"""Who may call each supervision RPC. Row scoping (a regulator's region) is in the app layer."""

from training_records import RECORD_CHAIN_RULES, RECORD_CHAIN_SERVICE
from training_runtime.auth import AccessPolicy, Role, allow

R = Role

POLICY = AccessPolicy(
    "training.supervision.v1.SupervisionService",
    {
        "ListPushRecords": allow(R.OPERATOR, R.REGULATOR),
        "ListFailedPushes": allow(R.OPERATOR),
        "RetryFailedPushes": allow(R.OPERATOR),
        "RunDailyBatch": allow(R.OPERATOR),
        "ReconcileDay": allow(R.OPERATOR),
        "FetchRegulatorCommands": allow(R.OPERATOR),
        "ListRegulatorCommands": allow(R.OPERATOR, R.REGULATOR),
        "GetRegionStatistics": allow(R.OPERATOR, R.REGULATOR),
    },
).including(RECORD_CHAIN_SERVICE, RECORD_CHAIN_RULES)
