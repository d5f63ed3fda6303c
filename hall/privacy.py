"""Personal data rules: identity number (GB 11643) and phone validation, and masking."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PHONE_RE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
# Two-character family names (复姓) still in use; a two-character name is never one of them
# (司马 is 司 + 马), so only longer names are read this way.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 澹台 公冶 "
    "宗政 濮阳 淳于 单于 太叔 申屠 钟离 闻人 万俟 呼延 赫连 南宫 西门 百里 东郭 独孤 司空 鲜于 "
    "闾丘 左丘 梁丘 第五 拓跋 完颜 耶律".split()
)
# Runs of digits long enough to be an identity, phone or account number inside free text.
_NUMBER_RUN = re.compile(r"\d[\dXx-]{5,}[\dXx]")


def id_number_problem(value: str) -> str | None:
    """Why `value` is not a valid 18-digit resident identity number, or None if it is.

    Checks the format, the birth date and the ISO 7064 MOD 11-2 check digit of GB 11643-1999.
    """
    value = value.strip().upper()
    if not _ID_RE.match(value):
        return "身份证号应为18位，最后一位可为数字或X"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"
    if born.year < 1900 or born > date.today():
        return "身份证号中的出生日期无效"
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    if _CHECK[total % 11] != value[17]:
        return "身份证号校验位错误"
    return None


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits (used by demo data and tests)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def phone_problem(value: str) -> str | None:
    """Why `value` is not a mainland mobile or landline number, or None if it is."""
    if not _PHONE_RE.match(value.strip()):
        return "电话号码格式不正确（11位手机号或带区号的固定电话）"
    return None


def mask_id_number(value: str) -> str:
    """Keep the first 3 and last 4 characters: 110***********123X."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits: 138****5678."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """The family name and one `*`, whatever the length of the name (张三, 张小明 → 张*); a
    compound family name is kept whole (欧阳娜娜 → 欧阳*); an empty name → `*`."""
    name = value.strip()
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2] + "*"
    return name[:1] + "*"


def mask_snippet(text: str, limit: int = 60) -> str:
    """A short excerpt of free text (a matter's summary) for people outside the case: numbers
    that could identify someone masked like identity numbers, cut to `limit` characters."""
    masked = _NUMBER_RUN.sub(lambda m: mask_id_number(m.group(0)), " ".join(text.split()))
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"
