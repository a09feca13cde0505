"""Who may call RecordChainService; each chained service adds these rules to its access policy.

Verification is for the operator and regulators. Heads reveal no record content, so institutions and
other services (supervision sending the daily heads, the class archive) may read them too. Links are
scoped by row: an institution sees links of its own records, a regulator those of its region.
"""

from training_runtime.auth import Role, allow

RECORD_CHAIN_SERVICE = "training.records.v1.RecordChainService"

_READERS = (Role.OPERATOR, Role.REGULATOR, Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF, Role.SERVICE)

RECORD_CHAIN_RULES = {
    "VerifyChain": allow(Role.OPERATOR, Role.REGULATOR),
    "GetChainHeads": allow(*_READERS),
    "GetChainLinks": allow(*_READERS),
}
