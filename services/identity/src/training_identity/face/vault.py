"""Face data at rest: sealing and opening embeddings and snapshots, and the access log every touch of
face data writes (who, what, why) in the same transaction as the touch itself."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import numpy as np

from training_identity.face.matcher import Embedding
from training_identity.face.rules import Access
from training_identity.face.tables import face_data_access
from training_runtime.auth.principal import Principal
from training_runtime.crypto import FieldCipher
from training_runtime.db import Transaction

log = logging.getLogger("training.identity.face_access")

# Embeddings are stored as little-endian float64, whatever the machine.
_EMBEDDING_DTYPE = np.dtype("<f8")


def actor_of(principal: Principal) -> tuple[str, str]:
    return principal.subject, principal.role.value


@dataclass(frozen=True)
class FaceVault:
    cipher: FieldCipher

    # Associated data binds each ciphertext to its row (and an embedding to its model).
    def seal_embedding(self, user_id: uuid.UUID, model: str, embedding: Embedding) -> bytes:
        raw = np.asarray(embedding, dtype=_EMBEDDING_DTYPE).tobytes()
        return self.cipher.encrypt(raw, f"face_baselines.embedding:{user_id}:{model}".encode())

    def open_embedding(self, user_id: uuid.UUID, model: str, sealed: bytes) -> Embedding:
        raw = self.cipher.decrypt(sealed, f"face_baselines.embedding:{user_id}:{model}".encode())
        return np.frombuffer(raw, dtype=_EMBEDDING_DTYPE).astype(np.float64)

    def seal_snapshot(self, snapshot_id: uuid.UUID, jpeg: bytes) -> bytes:
        return self.cipher.encrypt(jpeg, f"face_snapshots.image:{snapshot_id}".encode())

    def open_snapshot(self, snapshot_id: uuid.UUID, sealed: bytes) -> bytes:
        return self.cipher.decrypt(sealed, f"face_snapshots.image:{snapshot_id}".encode())

    async def record_access(
        self,
        tx: Transaction,
        principal: Principal,
        user_id: uuid.UUID,
        action: Access,
        reason: str,
        object_id: str = "",
    ) -> None:
        actor_id, actor_role = actor_of(principal)
        await tx.session.execute(
            face_data_access.insert().values(
                id=uuid.uuid4(),
                user_id=user_id,
                actor_id=actor_id,
                actor_role=actor_role,
                action=action.value,
                reason=reason,
                object_id=object_id,
                accessed_at=tx.now(),
            )
        )
        log.info(
            "face data %s of user %s by %s (%s): %s",
            action.value,
            user_id,
            actor_id,
            actor_role,
            reason,
            extra={"face_user_id": str(user_id), "actor_id": actor_id, "face_action": action.value},
        )
