"""The face-matcher interface: what identity needs from a face engine, so a deployment can swap the
bundled dlib matcher for a commercial service without touching enrollment or verification.

A matcher does three things:
- detect: find the faces in a photo (`FaceAnalysis.faces`, boxes in the analysed picture);
- embed: turn the one face of a photo into an embedding (`FaceAnalysis.embedding`);
- compare: the distance between two embeddings of the same `model` (`FaceMatcher.distance`).

`analyse` does detect and embed in one call because a remote engine wants the image once and a
local one wants to decode it once. It raises `UnreadableImage` for input that is not a usable
photo; a readable photo with no face, several faces or a small face is a normal answer (an
analysis with no embedding), because a study check with nobody in view is a failed check, not an
error. The app layer decides what each outcome means; the matcher only reports.

Embeddings from different models live in different spaces. Every stored embedding carries its
`model`, and a baseline is never compared with a probe from another model: changing the matcher
means re-enrollment (FAILED_PRECONDITION FACE_REENROLLMENT_REQUIRED).

Liveness (a photo of a photo passes a 1:1 match) is designed here but not built: see
`LivenessChallenge` and docs/identity.md. It needs real frame bursts of live and spoofed faces to
test, and the repository has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Embedding = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FaceBox:
    """A detected face, in pixels of the analysed (upright, downscaled) picture."""

    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class FaceAnalysis:
    faces: tuple[FaceBox, ...]
    # Set when exactly one face of at least the minimum size was found.
    embedding: Embedding | None
    # Width and height of the analysed picture.
    image_size: tuple[int, int]
    # The analysed picture as a metadata-free JPEG: the evidence a face check keeps.
    snapshot_jpeg: bytes

    @property
    def largest_face(self) -> FaceBox | None:
        return max(self.faces, key=lambda f: f.width * f.height, default=None)


class FaceMatcher(Protocol):
    # Names the embedding space, e.g. "dlib-resnet-v1"; stored beside every embedding.
    model: str
    # Faces narrower than this (pixels of the analysed picture) are too small to trust.
    min_face_size: int

    async def analyse(self, image: bytes) -> FaceAnalysis:
        """Decode, detect and embed without blocking the event loop. Raises `UnreadableImage`."""
        ...

    def distance(self, baseline: Embedding, probe: Embedding) -> float:
        """How far apart two faces are: 0 is identical; the service's threshold decides a match."""
        ...

    async def warm_up(self) -> None:
        """Load models (start workers, open connections) before the first real request."""
        ...

    async def close(self) -> None:
        """Release workers or connections; called once at service shutdown."""
        ...


@dataclass(frozen=True)
class Frame:
    """One camera frame of a liveness burst, with its capture time in milliseconds from the first."""

    image: bytes
    offset_ms: int


class LivenessChallenge(Protocol):
    """Design of the liveness hook (not implemented; see docs/identity.md, "Liveness").

    The server issues a challenge (e.g. "blink" or "turn your head left") with a nonce and a short
    deadline; the client records a burst of frames while the trainee responds; `assess` decides
    whether the frames show a live person performing that challenge. VerifyFace would then match
    the burst's sharpest frame against the baseline, and record the liveness verdict beside the
    distance. A blink needs eye-contour landmarks (the 68-point model, whose licence excludes
    commercial use, or a separately licensed eye model); a head turn can be judged from the 5-point
    landmarks (the nose tip moving across the eye corners).
    """

    def challenge_kinds(self) -> Sequence[str]: ...

    async def assess(self, challenge: str, frames: Sequence[Frame]) -> bool: ...
