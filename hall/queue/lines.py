"""The seven lines (七条线) of the hall and its function rooms: reference data, and the queries
that read and set a line's row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.queue.tables import Line


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


async def all_lines(session: AsyncSession) -> list[Line]:
    """Every line, in the hall's order."""
    return list(await session.scalars(select(Line).order_by(Line.sort)))


async def line_by_code(session: AsyncSession, code: str) -> Line | None:
    """The line with this code, or None."""
    return await session.scalar(select(Line).where(Line.code == code))


async def set_auto_offer(session: AsyncSession, code: str, enabled: bool) -> Line | None:
    """Switch automatic distribution of the line with this code; the line, or None if unknown."""
    line = await line_by_code(session, code)
    if line is not None:
        line.auto_offer = enabled
    return line


async def auto_offer_line_ids(session: AsyncSession, line_ids: Iterable[int]) -> list[int]:
    """The ids among `line_ids` of the lines that distribute automatically."""
    return list(
        await session.scalars(
            select(Line.id).where(Line.id.in_(list(line_ids)), Line.auto_offer.is_(True))
        )
    )
