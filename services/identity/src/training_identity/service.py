"""Identity's composition root: builds the application objects and plugs them into the runtime."""

from __future__ import annotations

from datetime import timedelta

import grpc

from training.identity.v1 import identity_pb2_grpc
from training.records.v1 import records_pb2_grpc
from training_identity.api import IdentityServicer
from training_identity.app.accounts import Accounts
from training_identity.app.enrollments import enrollments_consumer
from training_identity.app.institutions import Institutions
from training_identity.app.personal import PersonalData
from training_identity.app.sessions import Sessions, SessionSettings
from training_identity.chains import CHAINS
from training_identity.domain.lockout import LockoutPolicy
from training_identity.face.app import FaceData, FaceSettings
from training_identity.face.dlib_matcher import DlibMatcher, PipelineOptions
from training_identity.face.images import ImageLimits
from training_identity.face.vault import FaceVault
from training_identity.passwords import Passwords
from training_identity.policy import POLICY
from training_identity.retention.job import RetentionJob
from training_identity.settings import IdentitySettings, parse_service_clients
from training_records.servicer import RecordChainServicer
from training_runtime.auth import StaticKeySource, TokenSigner, load_signing_keys
from training_runtime.crypto import FieldCipher, KeyedHasher
from training_runtime.server import ServiceContext, Wiring
from training_runtime.settings import decode_key, parse_keyring

MIGRATIONS = "training_identity:migrations"


def personal_data(settings: IdentitySettings) -> PersonalData:
    return PersonalData(
        cipher=FieldCipher(parse_keyring(settings.field_encryption_keys.get_secret_value())),
        hasher=KeyedHasher(decode_key(settings.lookup_hash_key.get_secret_value())),
    )


def face_pipeline_options(settings: IdentitySettings) -> PipelineOptions:
    return PipelineOptions(
        limits=ImageLimits(
            max_upload_bytes=settings.face_max_upload_bytes,
            max_pixels=settings.face_max_image_pixels,
            max_side=settings.face_analysis_max_side,
            snapshot_quality=settings.face_snapshot_quality,
        ),
        min_face_size=settings.face_min_size,
    )


def passwords(settings: IdentitySettings) -> Passwords:
    return Passwords(
        time_cost=settings.password_hash_time_cost,
        memory_kib=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
    )


class IdentityService:
    name = "identity"
    grpc_service = "training.identity.v1.IdentityService"
    policy = POLICY
    # Courses' enrollments tell identity which trainees each institution and region may see.
    consumes: tuple[str, ...] = ("courses",)

    def wire(self, ctx: ServiceContext) -> Wiring:
        settings = ctx.settings
        assert isinstance(settings, IdentitySettings)
        signer = TokenSigner(
            load_signing_keys(settings.jwt_signing_keys.get_secret_value()),
            ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        )
        personal = personal_data(settings)
        hashing = passwords(settings)
        sessions = Sessions(
            ctx.uow,
            personal,
            hashing,
            signer,
            SessionSettings(
                access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
                refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
                service_ttl=timedelta(seconds=settings.service_token_ttl_seconds),
                lockout=LockoutPolicy(
                    max_failures=settings.login_max_failures,
                    window=timedelta(seconds=settings.login_failure_window_seconds),
                    lock_for=timedelta(seconds=settings.login_lock_seconds),
                ),
                service_clients=parse_service_clients(settings.service_clients.get_secret_value()),
            ),
        )
        options = face_pipeline_options(settings)
        # Workers start on the first face request (each loads the models once), not at start-up:
        # a replica that never sees a face request never pays for them.
        matcher = DlibMatcher(options, workers=settings.face_workers)
        faces = FaceData(
            ctx.uow,
            matcher,
            FaceVault(personal.cipher),
            FaceSettings(
                threshold=settings.face_match_threshold,
                limits=options.limits,
                retention_default_years=settings.retention_default_years,
            ),
        )
        retention = RetentionJob(
            ctx.uow, ctx.clock, FaceVault(personal.cipher), interval_seconds=settings.retention_interval_seconds
        )
        servicer = IdentityServicer(
            Accounts(ctx.uow, ctx.clock, personal, hashing),
            sessions,
            Institutions(ctx.uow),
            faces,
            keys_cache_seconds=300,
        )

        chains = RecordChainServicer(CHAINS, ctx.uow)

        def register(server: grpc.aio.Server) -> None:
            identity_pb2_grpc.add_IdentityServiceServicer_to_server(servicer, server)
            records_pb2_grpc.add_RecordChainServiceServicer_to_server(chains, server)

        return Wiring(
            register=register,
            consumers=[enrollments_consumer(settings.consumer_max_deliver, settings.retention_default_years)],
            background=[retention.run],
            key_source=StaticKeySource(signer.public_keys()),
            on_stop=[matcher.close],
        )
