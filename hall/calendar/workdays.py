"""The official calendar (法定节假日与调休): whether a date is a working day.

Built from the `chinese_calendar` package and the administrators' overrides (table
`calendar_overrides`), which win, and the years an administrator marked complete (table
`calendar_years`); a date that none of them covers is an error, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import chinese_calendar  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.calendar.tables import CalendarOverride, CalendarYear
from hall.errors import HallError, InvalidInput

NOTE_MAX = 200
ONE_DAY = timedelta(days=1)


class DayKind(StrEnum):
    """What the official calendar makes of one day."""

    WORKDAY = "workday"  # 工作日, including a make-up workday (调休上班日) on a weekend
    HOLIDAY = "holiday"  # 法定节假日: a day off of an announced statutory holiday
    REST_DAY = "rest_day"  # 周休息日: an ordinary Saturday or Sunday


class CalendarUnknown(HallError):
    """The official calendar does not cover a date: the package does not know its year and no
    administrator marked the year's entries complete. The fix is to enter that year's calendar in
    the overrides and mark it complete; `day` names the date."""

    code = "calendar_unknown"

    def __init__(self, day: date) -> None:
        super().__init__(
            f"the official calendar does not cover {day.isoformat()} (官方日历未包含该日期): the "
            f"chinese_calendar package does not know {day.year} and {day.year} is not marked "
            "complete in the calendar overrides; enter that year's holidays and make-up "
            "workdays (calendar_overrides) and mark the year complete (calendar_years)",
            fields={"date": day.isoformat()},
        )
        self.day = day


@dataclass(frozen=True, slots=True)
class Override:
    """One administrator's entry: `day` is (or is not) a working day, whatever the package says."""

    day: date
    is_workday: bool
    note: str = ""


def package_kind(day: date) -> DayKind | None:
    """The `chinese_calendar` package's view of `day`, or None when it does not know the year."""
    try:
        is_day_off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if not is_day_off:
        return DayKind.WORKDAY
    # The package names the holiday of a day off in a holiday period; a bare weekend has no name.
    return DayKind.HOLIDAY if name is not None else DayKind.REST_DAY


class OfficialCalendar:
    """The official calendar: the package's statutory holidays and make-up workdays, with the
    overrides winning. Pure and synchronous once built; load it with `load_calendar`.

    An override that is not a working day counts as a statutory holiday: the table is where a
    year's announced holidays (or a local statutory holiday, 全国年节及纪念日放假办法 Art. 4) are
    entered; ordinary weekends need no row. A year the package does not know is covered only
    once it is in `complete_years` (an administrator marked its entries complete): then its days
    without an override follow the week (Monday–Friday work). Before that every day of it is
    unknown, entered or not: one day of a notice says nothing about the days around it.
    """

    __slots__ = ("_complete_years", "_overrides")

    def __init__(
        self, overrides: Iterable[Override] = (), complete_years: Iterable[int] = ()
    ) -> None:
        self._overrides: dict[date, Override] = {o.day: o for o in overrides}
        self._complete_years = frozenset(complete_years)

    def kind(self, day: date) -> DayKind:
        """Working day, statutory holiday or rest day; raises `CalendarUnknown` if not covered."""
        known = package_kind(day)
        if known is None and day.year not in self._complete_years:
            raise CalendarUnknown(day)
        override = self._overrides.get(day)
        if override is not None:
            return DayKind.WORKDAY if override.is_workday else DayKind.HOLIDAY
        if known is not None:
            return known
        return DayKind.REST_DAY if day.weekday() >= 5 else DayKind.WORKDAY

    def is_workday(self, day: date) -> bool:
        """True on a working day (a make-up workday on a weekend included)."""
        return self.kind(day) is DayKind.WORKDAY

    def override(self, day: date) -> Override | None:
        """The override entered for `day`, if any."""
        return self._overrides.get(day)

    def next_workday(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += ONE_DAY
        while not self.is_workday(day):
            day += ONE_DAY
        return day

    def add_workdays(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (`start` itself is not counted); count ≥ 1."""
        if count < 1:
            raise ValueError(f"count of working days is {count}; expected 1 or more")
        day = start
        for _ in range(count):
            day = self.next_workday(day)
        return day


async def load_calendar(session: AsyncSession) -> OfficialCalendar:
    """The official calendar with every override and every complete year of the database."""
    rows = await session.scalars(select(CalendarOverride))
    overrides = [Override(r.day, r.is_workday, r.note) for r in rows]
    return OfficialCalendar(overrides, await session.scalars(select(CalendarYear.year)))


async def mark_year_complete(
    session: AsyncSession, year: int, *, by: int | None, now: datetime
) -> bool:
    """Record that `year`'s overrides are complete; False if it already was."""
    if await session.get(CalendarYear, year) is not None:
        return False
    session.add(CalendarYear(year=year, marked_by=by, marked_at=now))
    await session.flush()
    return True


async def set_override(
    session: AsyncSession,
    *,
    day: date,
    is_workday: bool,
    note: str,
    by: int | None,
    now: datetime,
) -> CalendarOverride:
    """Enter (or change) the override of `day`; `by` is the administrator's user id."""
    if len(note) > NOTE_MAX:
        raise InvalidInput(
            f"note has {len(note)} characters; at most {NOTE_MAX}", fields={"note": "too long"}
        )
    row = await session.get(CalendarOverride, day)
    if row is None:
        row = CalendarOverride(day=day)
        session.add(row)
    row.is_workday = is_workday
    row.note = note
    row.updated_by = by
    row.updated_at = now
    await session.flush()
    return row


async def remove_override(session: AsyncSession, day: date) -> bool:
    """Delete the override of `day`; False if there was none."""
    row = await session.get(CalendarOverride, day)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True
