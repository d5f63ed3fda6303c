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


def test_a_masked_name_does_not_tell_the_length_of_the_name() -> None:
    for name in ("赵二", "赵小明", "赵某某某", " 赵小明 "):
        assert mask_name(name) == "赵*", name
    assert mask_name("") == "*"
    assert mask_name("   ") == "*"


def test_a_compound_family_name_is_kept_whole() -> None:
    for name in ("欧阳娜", "欧阳娜娜", "司马光", "诸葛孔明", "上官婉儿", "令狐冲"):
        assert mask_name(name) == name[:2] + "*", name
    # Two characters are a one-character family name and a given name: 司马 is 司 + 马.
    assert mask_name("司马") == "司*"
    assert mask_name("欧阳") == "欧*"
