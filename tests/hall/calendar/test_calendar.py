"""The official calendar: the package's holidays and make-up workdays, overrides that win, and a
typed error for a year nobody covers.

Dates below are checked against chinese_calendar 1.11.0 (pinned), which follows the State
Council notices for 2025 (国办发明电〔2024〕12号) and 2026 (国办发明电〔2025〕7号).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from hall.accounts.tables import User
from hall.calendar.tables import CalendarOverride
from hall.calendar.workdays import (
    CalendarUnknown,
    DayKind,
    OfficialCalendar,
    Override,
    load_calendar,
    mark_year_complete,
    remove_override,
    set_override,
)
from hall.db import Database
from hall.errors import HallError, InvalidInput

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
PLAIN = OfficialCalendar()


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2026, 9, 28), DayKind.WORKDAY),  # Mon
        (date(2026, 9, 20), DayKind.WORKDAY),  # Sun, make-up workday for National Day
        (date(2026, 10, 10), DayKind.WORKDAY),  # Sat, make-up workday for National Day
        (date(2026, 9, 26), DayKind.HOLIDAY),  # Sat inside the Mid-Autumn holiday 09-25..27
        (date(2026, 10, 1), DayKind.HOLIDAY),  # National Day 10-01..07
        (date(2026, 10, 7), DayKind.HOLIDAY),
        (date(2026, 10, 11), DayKind.REST_DAY),  # Sun, an ordinary weekend
        (date(2026, 2, 14), DayKind.WORKDAY),  # Sat, make-up workday for Spring Festival
        (date(2026, 2, 23), DayKind.HOLIDAY),  # Mon, last day of Spring Festival 02-15..23
        (date(2025, 1, 26), DayKind.WORKDAY),  # Sun, make-up workday for Spring Festival
        (date(2025, 2, 4), DayKind.HOLIDAY),  # Tue, last day of Spring Festival 01-28..02-04
        (date(2025, 4, 27), DayKind.WORKDAY),  # Sun, make-up workday for Labour Day
        (date(2025, 5, 5), DayKind.HOLIDAY),  # Mon, Labour Day 05-01..05
        (date(2025, 3, 22), DayKind.REST_DAY),  # Sat
    ],
)
def test_package_days_are_classified(day: date, kind: DayKind) -> None:
    assert PLAIN.kind(day) is kind
    assert PLAIN.is_workday(day) is (kind is DayKind.WORKDAY)


def test_next_workday_skips_the_whole_national_day_holiday() -> None:
    # 2026-09-30 Wed; 10-01..07 holiday; 10-08 Thu is the next working day.
    assert PLAIN.next_workday(date(2026, 9, 30)) == date(2026, 10, 8)
    # The next working day after a make-up Saturday's eve is the Saturday itself.
    assert PLAIN.next_workday(date(2026, 10, 9)) == date(2026, 10, 10)


def test_add_workdays_counts_make_up_sunday() -> None:
    # From Fri 2026-09-18: 09-19 Sat off, 09-20 Sun make-up (1), 09-21 Mon (2).
    assert PLAIN.add_workdays(date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert PLAIN.add_workdays(date(2026, 9, 18), 2) == date(2026, 9, 21)
    with pytest.raises(ValueError, match="expected 1 or more"):
        PLAIN.add_workdays(date(2026, 9, 18), 0)


def test_overrides_win_over_the_package() -> None:
    calendar = OfficialCalendar(
        [
            Override(date(2026, 10, 13), is_workday=False, note="地方法定节日"),
            Override(date(2026, 10, 11), is_workday=True, note="调休上班"),
        ]
    )
    assert calendar.kind(date(2026, 10, 13)) is DayKind.HOLIDAY  # a Tuesday made a holiday
    assert calendar.kind(date(2026, 10, 11)) is DayKind.WORKDAY  # a Sunday made a workday
    assert calendar.kind(date(2026, 10, 12)) is DayKind.WORKDAY  # untouched: the package
    override = calendar.override(date(2026, 10, 13))
    assert override is not None and override.note == "地方法定节日"
    assert calendar.override(date(2026, 10, 12)) is None


def test_a_year_the_package_does_not_know_is_an_error_naming_the_date() -> None:
    # chinese_calendar 1.11.0 knows 2004–2026.
    with pytest.raises(CalendarUnknown) as caught:
        PLAIN.kind(date(2027, 1, 4))
    error = caught.value
    assert isinstance(error, HallError)
    assert error.code == "calendar_unknown"
    assert error.day == date(2027, 1, 4)
    assert "2027-01-04" in error.message
    assert error.fields == {"date": "2027-01-04"}
    with pytest.raises(CalendarUnknown, match="2003-12-31"):
        PLAIN.is_workday(date(2003, 12, 31))


def test_next_workday_across_into_an_unknown_year_is_an_error() -> None:
    # 2026-12-31 Thu is known; the next day is in 2027.
    with pytest.raises(CalendarUnknown, match="2027-01-01"):
        PLAIN.next_workday(date(2026, 12, 31))


def test_entries_of_a_year_not_marked_complete_leave_it_unknown() -> None:
    # One day of a notice says nothing about its neighbours: 02-10 entered, 02-11 may be 春节 too.
    calendar = OfficialCalendar([Override(date(2027, 2, 10), is_workday=False, note="春节")])
    for day in (date(2027, 2, 10), date(2027, 2, 11), date(2027, 3, 1)):
        with pytest.raises(CalendarUnknown, match=day.isoformat()) as caught:
            calendar.kind(day)
        assert "not marked complete" in caught.value.message


def test_a_complete_year_follows_its_overrides_and_the_week() -> None:
    new_year = [Override(date(2027, 1, 1), is_workday=False, note="元旦")]
    calendar = OfficialCalendar(new_year, complete_years=[2027])
    assert calendar.kind(date(2027, 1, 1)) is DayKind.HOLIDAY  # Fri, entered
    assert calendar.kind(date(2027, 1, 2)) is DayKind.REST_DAY  # Sat, not entered
    assert calendar.kind(date(2027, 1, 4)) is DayKind.WORKDAY  # Mon, not entered
    with pytest.raises(CalendarUnknown, match="2028-01-03"):
        calendar.kind(date(2028, 1, 3))


async def test_overrides_are_stored_edited_and_loaded(db: Database) -> None:
    async with db.transaction() as session:
        admin = await session.scalar(select(User.id).where(User.username == "admin"))
        assert admin is not None
        await set_override(
            session, day=date(2027, 1, 1), is_workday=False, note="元旦", by=admin, now=NOW
        )
        await set_override(
            session, day=date(2027, 2, 20), is_workday=True, note="调休", by=admin, now=NOW
        )
    async with db.reader() as session:
        with pytest.raises(CalendarUnknown):  # not marked complete yet
            (await load_calendar(session)).kind(date(2027, 1, 1))
    async with db.transaction() as session:
        assert await mark_year_complete(session, 2027, by=admin, now=NOW)
        assert not await mark_year_complete(session, 2027, by=admin, now=NOW)
    async with db.reader() as session:
        calendar = await load_calendar(session)
    assert calendar.kind(date(2027, 1, 1)) is DayKind.HOLIDAY
    assert calendar.kind(date(2027, 2, 20)) is DayKind.WORKDAY  # a Saturday

    async with db.transaction() as session:
        await set_override(
            session, day=date(2027, 1, 1), is_workday=True, note="更正", by=None, now=NOW
        )
        assert await remove_override(session, date(2027, 2, 20))
        assert not await remove_override(session, date(2027, 2, 21))
    async with db.reader() as session:
        rows = list(await session.scalars(select(CalendarOverride)))
        calendar = await load_calendar(session)
    assert [(r.day, r.is_workday, r.note, r.updated_by, r.updated_at) for r in rows] == [
        (date(2027, 1, 1), True, "更正", None, NOW)
    ]
    assert calendar.kind(date(2027, 2, 20)) is DayKind.REST_DAY


async def test_an_override_note_is_limited(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(InvalidInput, match="at most 200"):
            await set_override(
                session, day=date(2027, 1, 1), is_workday=False, note="x" * 201, by=None, now=NOW
            )
