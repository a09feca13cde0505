"""Masking personal numbers for display: identity masks them for callers whose role does not need
them whole, certificates print them masked."""

from __future__ import annotations


def mask_national_id(value: str) -> str:
    """110***********002X: the first three and last four characters shown."""
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_phone(value: str) -> str:
    """138****5678."""
    return value[:3] + "****" + value[-4:] if len(value) == 11 else "*" * len(value)
