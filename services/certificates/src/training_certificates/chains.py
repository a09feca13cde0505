"""Certificates' record chains (docs/records.md): issuances and revocations.

Issuances hash every column fixed at issue except the trainee's name and masked national id
(personal data that retention erases; the signature, which covers them, enters as its SHA-256).
Revocations hash the certificate id and the revocation's columns, linked when the certificate is
revoked.
"""

from __future__ import annotations

from training_certificates.persistence.tables import certificates
from training_certificates.settings import CertificatesSettings
from training_records import ChainSet, ChainSpec

ISSUANCES = "certificates.issuances"
REVOCATIONS = "certificates.revocations"

_c = certificates.c
_NOT_HASHED = {
    "trainee_name",
    "trainee_national_id",
    "status",
    "revoked_at",
    "revocation_reason",
    "revoked_by",
    "revoked_role",
}

CHAINS = ChainSet(
    "certificates",
    [
        ChainSpec(
            name=ISSUANCES,
            table=certificates,
            id=_c.id,
            columns=tuple(c for c in certificates.c if c.name not in _NOT_HASHED),
            order=(_c.issued_at, _c.id),
            institution=_c.institution_id,
            region=_c.region_code,
            description="every certificate as issued and signed",
        ),
        ChainSpec(
            name=REVOCATIONS,
            table=certificates,
            id=_c.id,
            columns=(_c.id, _c.revoked_at, _c.revocation_reason, _c.revoked_by, _c.revoked_role),
            order=(_c.revoked_at, _c.id),
            member=_c.revoked_at.is_not(None),
            institution=_c.institution_id,
            region=_c.region_code,
            description="every revocation: when, why, by whom",
        ),
    ],
    settings=CertificatesSettings,
)
