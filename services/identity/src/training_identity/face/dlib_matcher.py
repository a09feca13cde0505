"""The default matcher: dlib's HOG face detector, its 5-point landmark model and its ResNet face
embedding (128 numbers; Euclidean distance), run in a pool of worker processes.

The model files come from the `face-recognition-models` wheel. That package's __init__ imports
pkg_resources (gone from recent setuptools), so the files are found with importlib's spec of the
package instead of importing it. The 68-point landmark model it also ships is never loaded: its
licence excludes commercial use.

Each worker process loads the models once (in the pool's initializer) and then analyses photos:
decode, orient, downscale, detect, embed. The event loop only awaits the pool. Workers are started
with "spawn": forking a process that runs gRPC and asyncpg threads is not safe.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training_identity.face.images import ImageLimits, encode_snapshot, load_image
from training_identity.face.matcher import Embedding, FaceAnalysis, FaceBox
from training_runtime.errors import Unavailable

log = logging.getLogger(__name__)

MODEL = "dlib-resnet-v1"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
EMBEDDING_FILE = "dlib_face_recognition_resnet_model_v1.dat"


def model_directory() -> Path:
    """Where `face-recognition-models` keeps its .dat files, found without importing the package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the face-recognition-models package is not installed")
    directory = Path(next(iter(spec.submodule_search_locations))) / "models"
    for name in (LANDMARKS_FILE, EMBEDDING_FILE):
        if not (directory / name).is_file():
            raise RuntimeError(f"face model file {name} is missing from {directory}")
    return directory


@dataclass(frozen=True)
class PipelineOptions:
    limits: ImageLimits
    min_face_size: int


class DlibPipeline:
    """Detect, embed and compare in the calling process (a worker, a benchmark, a test)."""

    def __init__(self, options: PipelineOptions) -> None:
        import dlib

        directory = model_directory()
        self.options = options
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(directory / LANDMARKS_FILE))
        self._embedder = dlib.face_recognition_model_v1(str(directory / EMBEDDING_FILE))

    def detect(self, pixels: np.ndarray) -> list[object]:
        """dlib rectangles of the faces. The detector's window is 80 px; when it finds nothing, one
        pass on a 2x upsampled picture finds faces down to about 40 px, so a small face is reported
        as too small rather than as no face at all. The common case (one clear face) stays cheap."""
        found = self._detector(pixels, 0)
        if len(found) == 0:
            found = self._detector(pixels, 1)
        return list(found)

    def embed(self, pixels: np.ndarray, face: object) -> Embedding:
        shape = self._landmarks(pixels, face)
        return np.asarray(self._embedder.compute_face_descriptor(pixels, shape), dtype=np.float64)

    @staticmethod
    def compare(baseline: Embedding, probe: Embedding) -> float:
        return float(np.linalg.norm(baseline - probe))

    def analyse(self, image: bytes) -> FaceAnalysis:
        picture = load_image(image, self.options.limits)
        pixels = np.asarray(picture)
        faces = self.detect(pixels)
        boxes = tuple(_box(face, picture.size) for face in faces)
        embedding = None
        if len(faces) == 1 and boxes[0].width >= self.options.min_face_size:
            embedding = self.embed(pixels, faces[0])
        return FaceAnalysis(
            faces=boxes,
            embedding=embedding,
            image_size=picture.size,
            snapshot_jpeg=encode_snapshot(picture, self.options.limits.snapshot_quality),
        )


def _box(face: object, size: tuple[int, int]) -> FaceBox:
    # dlib may return a box reaching past the picture's edge; clip it so sizes mean what they say.
    left, top = max(0, face.left()), max(0, face.top())  # type: ignore[attr-defined]
    right, bottom = min(size[0], face.right()), min(size[1], face.bottom())  # type: ignore[attr-defined]
    return FaceBox(left=left, top=top, width=max(0, right - left), height=max(0, bottom - top))


# One pipeline per worker process, built by the pool's initializer.
_worker_pipeline: DlibPipeline | None = None


def _start_worker(options: PipelineOptions) -> None:
    global _worker_pipeline
    _worker_pipeline = DlibPipeline(options)


def _analyse_in_worker(image: bytes) -> FaceAnalysis:
    assert _worker_pipeline is not None, "the worker's initializer did not run"
    return _worker_pipeline.analyse(image)


def _ready() -> bool:
    return _worker_pipeline is not None


class DlibMatcher:
    """`FaceMatcher` backed by a process pool of `DlibPipeline`s."""

    model = MODEL

    def __init__(self, options: PipelineOptions, *, workers: int) -> None:
        model_directory()  # fail at start-up, not at the first enrollment, when the models are missing
        self.options = options
        self.min_face_size = options.min_face_size
        self.workers = workers
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.options,),
        )

    async def analyse(self, image: bytes) -> FaceAnalysis:
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, _analyse_in_worker, image)
        except BrokenProcessPool:
            # A worker died (killed, out of memory, a crash in native code). The pool cannot recover
            # by itself: replace it so the next call works, and tell this caller to retry.
            if self._pool is pool:
                log.error("a face worker died; starting a new pool")
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            raise Unavailable("face analysis was interrupted; retry") from None

    def distance(self, baseline: Embedding, probe: Embedding) -> float:
        return DlibPipeline.compare(baseline, probe)

    async def warm_up(self) -> None:
        """Start every worker and wait until each has loaded the models."""
        loop = asyncio.get_running_loop()
        # As many concurrent calls as workers make the pool start them all.
        await asyncio.gather(*(loop.run_in_executor(self._pool, _ready) for _ in range(self.workers)))

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
