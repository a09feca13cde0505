"""Certificates' composition root: builds the application objects and plugs them into the runtime."""

from __future__ import annotations

import grpc

from training.certificates.v1 import certificates_pb2_grpc
from training.records.v1 import records_pb2_grpc
from training_certificates.api import CertificatesServicer
from training_certificates.app.certificates import Certificates
from training_certificates.app.consumers import consumers
from training_certificates.app.directory import Directory
from training_certificates.app.issuance import Issuer
from training_certificates.app.verification import VerificationCache, Verifier, listen_for_revocations
from training_certificates.chains import CHAINS
from training_certificates.domain.signing import CertificateKeys
from training_certificates.policy import POLICY
from training_certificates.retention import CERTIFICATE_DATING, HolderErasure
from training_certificates.settings import CertificatesSettings
from training_records.servicer import RecordChainServicer
from training_runtime.retention import RetentionDater
from training_runtime.server import ServiceContext, Wiring
from training_runtime.settings import parse_keyring

MIGRATIONS = "training_certificates:migrations"


def certificate_keys(settings: CertificatesSettings) -> CertificateKeys:
    return CertificateKeys(parse_keyring(settings.certificate_signing_keys.get_secret_value()))


class CertificatesService:
    name = "certificates"
    grpc_service = "training.certificates.v1.CertificatesService"
    policy = POLICY
    consumes: tuple[str, ...] = ("identity", "courses", "learning", "exams")

    def wire(self, ctx: ServiceContext) -> Wiring:
        settings = ctx.settings
        assert isinstance(settings, CertificatesSettings)
        keys = certificate_keys(settings)
        cache = VerificationCache(settings.verification_cache_seconds)
        directory = Directory(ctx.clients.channel(settings.identity_url), timeout=settings.identity_timeout_seconds)
        issuer = Issuer(keys, directory, ctx.clock, validity_days=settings.validity_days)
        servicer = CertificatesServicer(
            Certificates(ctx.uow, cache),
            Verifier(ctx.uow, keys, cache),
            keys,
            verification_url=settings.verification_url,
        )

        chains = RecordChainServicer(CHAINS, ctx.uow)

        def register(server: grpc.aio.Server) -> None:
            certificates_pb2_grpc.add_CertificatesServiceServicer_to_server(servicer, server)
            records_pb2_grpc.add_RecordChainServiceServicer_to_server(chains, server)

        async def revocations() -> None:
            await listen_for_revocations(ctx.nats, cache)

        return Wiring(
            register=register,
            consumers=consumers(issuer, ctx.clock, cache),
            background=[
                revocations,
                RetentionDater(ctx.uow, ctx.clock, CERTIFICATE_DATING).run,
                HolderErasure(ctx.uow, ctx.clock, cache).run,
            ],
        )
