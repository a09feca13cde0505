"""The proof of an erasure at retention end (identity's personal data, certificates' holders): its
format is stored in proofs, so it must not drift."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from training_runtime.retention import erasure_digest

AT = datetime(2032, 11, 29, 3, 0, tzinfo=UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_digest_covers_subject_time_and_each_erased_value_hash_in_field_order() -> None:
    fields = {"phone": sha("13800138000"), "display_name": sha("张三")}

    digest = erasure_digest("user:42", "users", AT, fields)

    expected = "\n".join(
        [
            "user:42",
            "at:2032-11-29T03:00:00+00:00",
            f"users.display_name:{fields['display_name']}",
            f"users.phone:{fields['phone']}",
        ]
    )
    assert digest == sha(expected)


def test_the_digest_changes_with_any_part_and_not_with_the_order_given() -> None:
    fields = {"display_name": sha("张三"), "phone": sha("13800138000")}
    digest = erasure_digest("user:42", "users", AT, fields)

    assert erasure_digest("user:42", "users", AT, dict(reversed(fields.items()))) == digest
    assert erasure_digest("user:43", "users", AT, fields) != digest
    assert erasure_digest("user:42", "certificates", AT, fields) != digest
    assert erasure_digest("user:42", "users", AT.replace(second=1), fields) != digest
    assert erasure_digest("user:42", "users", AT, {**fields, "phone": sha("13900139000")}) != digest
