"""Identity number (GB 11643) validation and masking of personal data."""

from __future__ import annotations

from hall.privacy import (
    check_digit,
    id_number_problem,
    mask_id_number,
    mask_name,
    mask_phone,
    phone_problem,
)


def test_known_valid_id_number_passes() -> None:
    # The standard's own example number.
    assert id_number_problem("11010519491231002X") is None


def test_wrong_check_digit_is_named() -> None:
    assert id_number_problem("110105194912310021") == "身份证号校验位错误"


def test_impossible_birth_date_is_rejected() -> None:
    first17 = "11010519491331002"
    assert id_number_problem(first17 + check_digit(first17)) == "身份证号中的出生日期无效"


def test_length_and_characters_are_checked() -> None:
    assert id_number_problem("12345") is not None
    assert id_number_problem("11010519491231002Y") is not None


def test_lowercase_x_is_accepted() -> None:
    assert id_number_problem("11010519491231002x") is None


def test_phone_formats() -> None:
    assert phone_problem("13800138000") is None
    assert phone_problem("0571-87654321") is None
    assert phone_problem("12345") is not None


def test_masks_keep_only_what_identifies_nobody() -> None:
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
