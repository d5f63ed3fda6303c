"""The seven lines (七条线) of the hall and its function rooms: reference data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineSpec:
    """A line's code, Chinese name and ticket letter."""

    code: str
    name: str
    letter: str


LINES: tuple[LineSpec, ...] = (
    LineSpec("grassroots", "基层", "A"),
    LineSpec("enterprise", "企业", "B"),
    LineSpec("urban", "城建", "C"),
    LineSpec("legal", "涉法", "D"),
    LineSpec("military", "涉军", "E"),
    LineSpec("education", "文教", "F"),
    LineSpec("finance", "金融", "G"),
)

# Function rooms (功能室) of the hall besides the seven reception rooms: (code, name, kind).
FUNCTION_ROOMS: tuple[tuple[str, str, str], ...] = (
    ("lawyer", "律师服务室", "lawyer"),
    ("counselling", "心灵驿站", "counselling"),
    ("consultation", "会商室", "consultation"),
    ("hearing", "听证室", "hearing"),
    ("video-centre", "视频接访中心", "video_centre"),
)
