"""Validation of the identifiers a real-name registration carries. Pure functions, no I/O.

- Resident ID numbers (GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit sequence and an
  ISO 7064 MOD 11-2 check character.
- Unified social credit codes (GB 32100-2015): 18 characters from a 31-character alphabet, the
  last one a MOD 31 check character; characters 9 to 17 are the organisation code (GB 11714), which
  carries its own MOD 11 check character.
- Mainland mobile numbers, region codes, names, usernames and the password policy.

Each `check_*` returns None when the value is fine, or a sentence saying what is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# Province-level codes (GB/T 2260): the first two digits of every region and resident ID number.
PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江",
    "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西", "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
    "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
    "71": "台湾", "81": "香港", "82": "澳门",
}  # fmt: skip

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")


def normalize_national_id(value: str) -> str:
    return value.strip().upper()


def national_id_check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def national_id_birth_date(value: str) -> date:
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def check_national_id(value: str, *, today: date) -> str | None:
    value = normalize_national_id(value)
    if len(value) != 18:
        return f"must be 18 characters, got {len(value)}"
    if not _ID_PATTERN.match(value):
        return "must be 17 digits followed by a digit or X"
    if value[:2] not in PROVINCES:
        return f"region code {value[:6]} names no province"
    try:
        born = national_id_birth_date(value)
    except ValueError:
        return f"birth date {value[6:14]} is not a real date"
    if born > today:
        return "birth date lies in the future"
    if born.year < 1900:
        return "birth date is before 1900"
    if national_id_check_character(value[:17]) != value[17]:
        return "check character does not match (GB 11643)"
    return None


def is_national_id_shaped(value: str) -> bool:
    return bool(_ID_PATTERN.match(normalize_national_id(value)))


# GB 32100: the alphabet excludes I, O, Z, S and V.
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def normalize_credit_code(value: str) -> str:
    return value.strip().upper()


def credit_code_check_character(first17: str) -> str:
    total = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def organization_code_check_character(first8: str) -> str:
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def check_credit_code(value: str) -> str | None:
    value = normalize_credit_code(value)
    if len(value) != 18:
        return f"must be 18 characters, got {len(value)}"
    bad = sorted({c for c in value if c not in _CREDIT_ALPHABET})
    if bad:
        return f"contains characters outside the GB 32100 alphabet: {''.join(bad)}"
    if not value[2:8].isdigit() or value[2:4] not in PROVINCES:
        return f"characters 3-8 must be a region code, got {value[2:8]}"
    if credit_code_check_character(value[:17]) != value[17]:
        return "check character does not match (GB 32100)"
    org = value[8:17]
    if organization_code_check_character(org[:8]) != org[8]:
        return "organisation code (characters 9-17) check character does not match (GB 11714)"
    return None


def credit_code_region(value: str) -> str:
    """The region of the registration authority (characters 3-8)."""
    return normalize_credit_code(value)[2:8]


_PHONE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(value: str) -> str:
    value = re.sub(r"[\s-]", "", value.strip())
    if value.startswith("+86"):
        value = value[3:]
    return value


def check_phone(value: str) -> str | None:
    if not _PHONE.match(normalize_phone(value)):
        return "must be an 11-digit mainland mobile number starting with 13-19"
    return None


_REGION = re.compile(r"^\d{6}$")


def check_region_code(value: str) -> str | None:
    if not _REGION.match(value):
        return "must be a 6-digit administrative division code"
    if value[:2] not in PROVINCES:
        return f"{value[:2]} is no province code"
    if value[2:4] == "00" and value[4:] != "00":
        return "a county code needs its prefecture digits"
    return None


_NAME_SEPARATORS = "·•."


def normalize_name(value: str) -> str:
    return unicodedata.normalize("NFC", value.strip())


def check_real_name(value: str) -> str | None:
    """Names as on a resident ID card: Han characters, or letters with the middle dot (e.g. 阿依古丽·买买提)."""
    name = normalize_name(value)
    if not 2 <= len(name) <= 30:
        return "must be 2 to 30 characters"
    for ch in name:
        if ch in _NAME_SEPARATORS or ch == " ":
            continue
        category = unicodedata.category(ch)
        if not category.startswith("L"):
            return f"may hold only letters and the middle dot, not {ch!r}"
    if name[0] in _NAME_SEPARATORS or name[-1] in _NAME_SEPARATORS:
        return "must not start or end with a separator"
    return None


def check_display_text(value: str, *, minimum: int = 1, maximum: int = 100) -> str | None:
    text = value.strip()
    if not minimum <= len(text) <= maximum:
        return f"must be {minimum} to {maximum} characters"
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "must not contain control characters"
    return None


_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,31}$")


def check_username(value: str) -> str | None:
    if not _USERNAME.match(value):
        return "must be 3 to 32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter"
    return None


PASSWORD_MIN = 10
PASSWORD_MAX = 128


def check_password(value: str, *, personal: tuple[str, ...] = ()) -> str | None:
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        return f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )
    if classes < 3:
        return "must mix at least three of: lower-case, upper-case, digits, symbols"
    lowered = value.lower()
    for item in personal:
        if item and len(item) >= 4 and item.lower() in lowered:
            return "must not contain your ID number, phone number or username"
    return None
