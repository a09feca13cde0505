"""Identifier validation with real numbers: GB 11643 resident IDs, GB 32100 credit codes, phones,
names, usernames and the password policy."""

from __future__ import annotations

from datetime import date

import pytest

from training_identity.domain import validation as v
from training_runtime.masking import mask_national_id, mask_phone

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the example printed in GB 11643-1999
        "440106199001011235",
        "310101200012310016",
        "110101190001010014",  # born on the first day accepted
    ],
)
def test_valid_resident_id_numbers_pass(number: str) -> None:
    assert v.check_national_id(number, today=TODAY) is None


def test_lower_case_check_character_is_accepted() -> None:
    assert v.check_national_id("11010519491231002x", today=TODAY) is None


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("110105194912310021", "check character"),  # last character altered
        ("11010519491231002", "18 characters"),
        ("1101051949123100211", "18 characters"),
        ("11010519491231002Y", "17 digits followed by a digit or X"),
        ("1101051949123X002X", "17 digits followed by a digit or X"),
        ("990105194912310028", "names no province"),
        ("110105199002300028", "not a real date"),  # 30 February
        ("110105203001010028", "future"),
        ("110105180001010028", "before 1900"),
    ],
)
def test_invalid_resident_id_numbers_say_why(number: str, problem: str) -> None:
    assert problem in (v.check_national_id(number, today=TODAY) or "")


@pytest.mark.parametrize(
    "code",
    [
        "914403001922038216",  # Huawei Technologies Co., Ltd.
        "9144030071526726XG",  # Shenzhen Tencent Computer Systems Co., Ltd.
        "91330100799655058B",  # Alibaba (China) Co., Ltd.
        "91350100M000100Y43",
        "91110108MA01KPGK0L",
    ],
)
def test_real_credit_codes_pass(code: str) -> None:
    assert v.check_credit_code(code) is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("914403001922038217", "check character does not match (GB 32100)"),
        ("91440300192203821", "18 characters"),
        ("91440300I92203821O", "outside the GB 32100 alphabet"),
        ("91ZZ03001922038216", "outside the GB 32100 alphabet"),
        ("919903001922038216", "region code"),
        # A valid MOD 31 check character over a broken organisation code.
        ("91440300192203822" + v.credit_code_check_character("91440300192203822"), "GB 11714"),
    ],
)
def test_invalid_credit_codes_say_why(code: str, problem: str) -> None:
    assert problem in (v.check_credit_code(code) or "")


@pytest.mark.parametrize("phone", ["13800138000", "19912345678", "+86 138 0013 8000", "138-0013-8000"])
def test_mainland_mobile_numbers_pass(phone: str) -> None:
    assert v.check_phone(phone) is None


@pytest.mark.parametrize("phone", ["12800138000", "1380013800", "23800138000", "010-12345678", "abc"])
def test_other_numbers_are_refused(phone: str) -> None:
    assert v.check_phone(phone) is not None


@pytest.mark.parametrize("name", ["张伟", "欧阳娜娜", "阿依古丽·买买提", "Wang Lei"])
def test_real_names_pass(name: str) -> None:
    assert v.check_real_name(name) is None


@pytest.mark.parametrize("name", ["张", "张伟1", "·张伟", "张<script>", "x" * 31])
def test_implausible_names_are_refused(name: str) -> None:
    assert v.check_real_name(name) is not None


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Train!ng2026pw", True),
        ("short1A!", False),
        ("alllowercaseletters", False),
        ("NoDigitsOrSymbolsHere", False),
        ("Pass!word13800138000", False),  # contains the phone number
    ],
)
def test_password_policy(password: str, ok: bool) -> None:
    assert (v.check_password(password, personal=("13800138000",)) is None) is ok


def test_region_codes() -> None:
    assert v.check_region_code("440000") is None
    assert v.check_region_code("440106") is None
    assert v.check_region_code("990000") is not None
    assert v.check_region_code("4401") is not None
    assert v.check_region_code("440006") is not None


def test_masks_keep_only_the_ends() -> None:
    assert mask_national_id("11010519491231002X") == "110***********002X"
    assert mask_phone("13800138000") == "138****8000"
