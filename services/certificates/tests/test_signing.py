"""The signed document without I/O: canonical bytes depend on contents only, a signature checks only
the exact contents, and keys rotate (new key signs, old keys keep verifying what they signed)."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, date, datetime

import pytest

from training_certificates.domain.document import CertificateDocument, TopicLine, issue_dates, serial_number
from training_certificates.domain.signing import CertificateKeys, TokenRejected, read_token
from training_devstack.secrets import new_ed25519_seed


def seed() -> bytes:
    text = new_ed25519_seed()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


DOCUMENT = CertificateDocument(
    certificate_id="6a0f1c2e-8d3b-4f5a-9c7e-0b1d2e3f4a5b",
    serial_number=serial_number("440106", 2026, 42),
    verification_code="K7M2P9QX",
    enrollment_id="1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9",
    class_id="2c3d4e5f-6071-4829-93a4-b5c6d7e8f9a0",
    trainee_id="3d4e5f60-7182-4930-a4b5-c6d7e8f9a0b1",
    trainee_name="张伟",
    trainee_national_id="440***********1234",
    qualification_type="safety_manager_high_risk",
    operation_type="",
    training_kind="initial",
    institution_id="4e5f6071-8293-4a41-b5c6-d7e8f9a0b1c2",
    institution_name="广州安全培训学校",
    region_code="440106",
    period_start=datetime(2026, 3, 1, 1, 2, 3, 456789, tzinfo=UTC),
    period_end=datetime(2026, 3, 20, 8, 0, tzinfo=UTC),
    topics=(TopicLine("t1", "law", 24, 24.5), TopicLine("t2", "hazard", 24, 24.25)),
    total_hours=48.75,
    exam_attempt_id="5f607182-93a4-4b52-86d7-e8f9a0b1c2d3",
    exam_score=92.0,
    exam_max_points=100.0,
    exam_pass_mark=80.0,
    issue_date=date(2026, 3, 21),
    valid_until=date(2027, 3, 20),
    issued_at=datetime(2026, 3, 21, 2, 0, tzinfo=UTC),
)


def test_serial_number_format() -> None:
    assert serial_number("440106", 2026, 42) == "440106-2026-000042"


def test_issue_date_is_china_time_and_validity_counts_days() -> None:
    # 17:30 UTC on 31 December is already 1 January in Beijing.
    issued, valid_until = issue_dates(datetime(2025, 12, 31, 17, 30, tzinfo=UTC), 365)
    assert issued == date(2026, 1, 1)
    assert valid_until == date(2026, 12, 31)


def test_canonical_encoding_is_stable_and_sorted() -> None:
    canonical = DOCUMENT.canonical()
    assert canonical == dataclasses.replace(DOCUMENT).canonical()
    assert b'"total_hours":"48.75"' in canonical
    assert b'"period_start":"2026-03-01T01:02:03.456789Z"' in canonical
    assert "张伟".encode() in canonical
    assert b" " not in canonical.replace("广州安全培训学校".encode(), b"")


@pytest.mark.parametrize(
    "change",
    [
        {"total_hours": 58.75},
        {"trainee_name": "张玮"},
        {"exam_score": 93.0},
        {"valid_until": date(2028, 3, 20)},
        {"topics": (TopicLine("t1", "law", 24, 34.5), TopicLine("t2", "hazard", 24, 24.25))},
    ],
    ids=["hours", "name", "score", "validity", "topic-hours"],
)
def test_a_signature_checks_only_the_exact_contents(change) -> None:
    keys = CertificateKeys({"k1": seed()})
    key_id, signature = keys.sign(DOCUMENT)

    assert keys.verify(DOCUMENT, key_id, signature)
    assert not keys.verify(dataclasses.replace(DOCUMENT, **change), key_id, signature)


def test_a_flipped_signature_bit_fails() -> None:
    keys = CertificateKeys({"k1": seed()})
    key_id, signature = keys.sign(DOCUMENT)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]

    assert not keys.verify(DOCUMENT, key_id, flipped)


def test_rotated_keyring_signs_with_the_new_key_and_verifies_the_old() -> None:
    old, new = seed(), seed()
    before = CertificateKeys({"old": old})
    old_key_id, old_signature = before.sign(DOCUMENT)
    old_token = before.token(DOCUMENT)

    after = CertificateKeys({"new": new, "old": old})
    new_key_id, new_signature = after.sign(DOCUMENT)

    assert (old_key_id, new_key_id) == ("old", "new")
    assert after.verify(DOCUMENT, old_key_id, old_signature)
    assert after.verify(DOCUMENT, new_key_id, new_signature)
    assert read_token(old_token, after.public_keys()).key_id == "old"
    assert read_token(after.token(DOCUMENT), after.public_keys()).key_id == "new"
    with pytest.raises(TokenRejected):
        read_token(after.token(DOCUMENT), before.public_keys())


def test_token_binds_the_full_document_by_digest() -> None:
    keys = CertificateKeys({"k1": seed()})
    claims = read_token(keys.token(DOCUMENT), keys.public_keys())

    assert claims.digest == DOCUMENT.digest()
    assert claims.digest != dataclasses.replace(DOCUMENT, total_hours=58.75).digest()
