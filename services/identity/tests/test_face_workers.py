"""The face worker pool: models load in the workers, and a dead worker costs one retry, not the service."""

from __future__ import annotations

import os
import signal

import pytest

from training_identity.face.dlib_matcher import DlibMatcher
from training_identity.service import face_pipeline_options
from training_runtime.errors import Unavailable
from training_testkit import wait_until


async def test_a_killed_worker_is_replaced_and_the_next_call_succeeds(face_settings, face_photos) -> None:  # type: ignore[no-untyped-def]
    matcher = DlibMatcher(face_pipeline_options(face_settings), workers=1)
    try:
        await matcher.warm_up()
        first = await matcher.analyse(face_photos["obama_small.jpg"])
        assert first.embedding is not None
        workers = list(matcher._pool._processes.values())  # the pool's own record of its processes
        assert len(workers) == 1
        assert workers[0].pid != os.getpid()
        os.kill(workers[0].pid, signal.SIGKILL)
        await wait_until(lambda: not workers[0].is_alive(), what="the worker to die")
        with pytest.raises(Unavailable):
            await matcher.analyse(face_photos["obama_small.jpg"])
        again = await matcher.analyse(face_photos["obama_small.jpg"])
        assert matcher.distance(first.embedding, again.embedding) == pytest.approx(0.0, abs=1e-9)
    finally:
        await matcher.close()
