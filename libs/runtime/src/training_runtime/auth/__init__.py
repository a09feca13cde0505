"""Authentication and authorization: tokens, principals, per-RPC access rules."""

from training_runtime.auth.policy import AccessPolicy, Rule, allow, public
from training_runtime.auth.principal import Principal, Role, current_principal, region_covers, require_principal
from training_runtime.auth.tokens import KeySource, StaticKeySource, TokenSigner, TokenVerifier, load_signing_keys

__all__ = [
    "AccessPolicy",
    "KeySource",
    "Principal",
    "Role",
    "Rule",
    "StaticKeySource",
    "TokenSigner",
    "TokenVerifier",
    "allow",
    "current_principal",
    "load_signing_keys",
    "public",
    "region_covers",
    "require_principal",
]
