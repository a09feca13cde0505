"""Uploaded photos in, analysable pictures out: decode with Pillow, refuse what cannot be trusted,
apply the EXIF orientation, downscale, and re-encode the snapshot that is kept as evidence.

Every refusal is an `UnreadableImage` with a stable reason code, so a client can tell "the upload
was cut off" from "we do not take that format". Runs inside the face workers (decoding a large JPEG
is real CPU work), so nothing here may touch the event loop.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Pillow's default: a truncated file is an error, never a silently grey-padded picture.
ImageFile.LOAD_TRUNCATED_IMAGES = False

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG"})

IMAGE_EMPTY = "IMAGE_EMPTY"
IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
IMAGE_NOT_AN_IMAGE = "IMAGE_NOT_AN_IMAGE"
IMAGE_FORMAT_UNSUPPORTED = "IMAGE_FORMAT_UNSUPPORTED"
IMAGE_TRUNCATED = "IMAGE_TRUNCATED"
IMAGE_CORRUPT = "IMAGE_CORRUPT"
IMAGE_DIMENSIONS_TOO_LARGE = "IMAGE_DIMENSIONS_TOO_LARGE"


class UnreadableImage(Exception):
    """The upload is not a photo we can analyse; `reason` is one of the IMAGE_* codes."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ImageLimits:
    # Bytes of the upload; checked before anything is decoded.
    max_upload_bytes: int
    # Width x height as the header declares it; a 30 KB PNG can claim 40 000 x 40 000 pixels.
    max_pixels: int
    # The longer side of the analysed picture; larger photos are scaled down to it.
    max_side: int
    snapshot_quality: int = 85


def check_upload_size(data: bytes, limits: ImageLimits) -> None:
    """The checks worth doing before the bytes travel to a worker process."""
    if not data:
        raise UnreadableImage(IMAGE_EMPTY, "is empty")
    if len(data) > limits.max_upload_bytes:
        raise UnreadableImage(
            IMAGE_TOO_LARGE, f"is {len(data)} bytes; at most {limits.max_upload_bytes} bytes are accepted"
        )


def load_image(data: bytes, limits: ImageLimits) -> Image.Image:
    """Decode `data` into an upright RGB picture no larger than `limits.max_side` on either side."""
    check_upload_size(data, limits)
    try:
        with warnings.catch_warnings():
            # Our own pixel limit below decides; Pillow's bomb warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UnreadableImage(IMAGE_NOT_AN_IMAGE, "is not an image (a JPEG or PNG photo is expected)") from None
    except Image.DecompressionBombError:
        raise UnreadableImage(IMAGE_DIMENSIONS_TOO_LARGE, "declares more pixels than are accepted") from None
    if picture.format not in ACCEPTED_FORMATS:
        raise UnreadableImage(
            IMAGE_FORMAT_UNSUPPORTED, f"is {picture.format or 'an unknown format'}; only JPEG and PNG are accepted"
        )
    width, height = picture.size
    if width * height > limits.max_pixels:
        raise UnreadableImage(
            IMAGE_DIMENSIONS_TOO_LARGE,
            f"is {width}x{height} pixels; at most {limits.max_pixels} pixels are accepted",
        )
    if picture.format == "JPEG":
        # libjpeg decodes straight to 1/2, 1/4 or 1/8 scale: a 12-megapixel photo costs a fraction.
        picture.draft("RGB", (limits.max_side, limits.max_side))
    try:
        picture.load()
    except OSError as exc:
        if "truncated" in str(exc) or "broken data stream" in str(exc):
            raise UnreadableImage(IMAGE_TRUNCATED, "ends before the picture does (the upload was cut off)") from None
        raise UnreadableImage(IMAGE_CORRUPT, "could not be decoded") from None
    except (SyntaxError, ValueError, Image.DecompressionBombError):
        raise UnreadableImage(IMAGE_CORRUPT, "could not be decoded") from None
    upright = ImageOps.exif_transpose(picture)
    rgb = upright.convert("RGB")
    rgb.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    return rgb


def encode_snapshot(picture: Image.Image, quality: int) -> bytes:
    """The analysed picture as a JPEG without metadata (no EXIF, so no GPS position or device id)."""
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality, optimize=False)
    return out.getvalue()
