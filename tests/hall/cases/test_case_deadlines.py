"""Deadlines attached at registration, and the overdue / due-soon flags of a case's open deadline
on a fixed clock around the 2026 National Day holiday (国庆节 10-01 to 10-08)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from hall.calendar.deadlines import Rule, due_date
from hall.calendar.workdays import load_calendar
from hall.cases import deadlines
from hall.cases.registration import Registration, register
from hall.cases.tables import CaseEvent
from hall.db import Database
from hall.queue.tables import Channel
from hall.settings import HALL_TZ, ExtendOver
from tests.support import QS, principal, valid_id_number

# Monday 2026-09-28, 10:00 in the hall (02:00 UTC), just before the National Day holiday.
SEPT_28 = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)
REG = Registration(
    name="王五",
    id_number=valid_id_number("41010219800101777"),
    phone="13912345678",
    village_id=1,
    head_count=1,
    summary="土地征收补偿标准争议",
    line_code="urban",
)


async def register_at(db: Database, now: datetime) -> list[CaseEvent]:
    who = await principal(db, "desk")
    async with db.transaction() as session:
        done = await register(session, who, REG, channel=Channel.WALK_IN, now=now, settings=QS)
    async with db.reader() as session:
        return list(
            await session.scalars(select(CaseEvent).where(CaseEvent.case_id == done.case.id))
        )


async def test_registration_attaches_accept_and_general_reply_as_computed(db: Database) -> None:
    events = await register_at(db, SEPT_28)
    async with db.reader() as session:
        calendar = await load_calendar(session)
    registered = events[0]
    assert registered.kind == "registered"
    for rule in (Rule.ACCEPT, Rule.GENERAL_REPLY):
        expected = due_date(
            rule, date(2026, 9, 28), calendar, extend_over=ExtendOver.HOLIDAYS_AND_WEEKENDS
        )
        assert registered.data["due"][rule.value] == {
            "date": expected.day.isoformat(),
            "rule": expected.text,
        }
    # The holiday and its make-up workdays are counted: 10 working days end after 10-08.
    assert date.fromisoformat(registered.data["due"]["general_reply"]["date"]) > date(2026, 10, 8)
    shown = deadlines.attached(events)
    assert [d.rule for d in shown] == ["accept", "general_reply"]
    assert all(d.text for d in shown)


async def test_open_deadline_flags_around_national_day(db: Database) -> None:
    events = await register_at(db, SEPT_28)
    open_ = deadlines.open_deadline("registered", events)
    assert open_ is not None and open_.day is not None
    dues = [date.fromisoformat(v["date"]) for v in events[0].data["due"].values()]
    assert open_.day == min(dues)  # the stricter of the two limits runs

    def at(day: date) -> datetime:  # 23:00 in the hall that day
        return datetime(day.year, day.month, day.day, 23, 0, tzinfo=HALL_TZ)

    cases = [
        (open_.day - timedelta(days=4), False, False),
        (open_.day - timedelta(days=3), False, True),
        (open_.day, False, True),  # in time until 24:00 of the due day
        (open_.day + timedelta(days=1), True, False),
    ]
    for day, overdue, soon in cases:
        flags = deadlines.flags("registered", events, at(day), due_soon_days=3)
        assert (flags.overdue, flags.due_soon) == (overdue, soon), day
    # A finished case has no running deadline, so it is never overdue.
    late = deadlines.flags("closed", events, at(open_.day + timedelta(days=30)), due_soon_days=3)
    assert late.deadline is None and not late.overdue


async def test_deadline_beyond_the_known_calendar_is_an_error_not_no_deadline(db: Database) -> None:
    # Mon 2026-12-28: both periods end in 2027, a year the calendar does not know yet.
    events = await register_at(db, datetime(2026, 12, 28, 2, 0, tzinfo=UTC))
    due = events[0].data["due"]
    assert set(due) == {"accept", "general_reply"}
    assert all("2027" in value["error"] for value in due.values())
    flags = deadlines.flags("registered", events, datetime(2027, 2, 1, tzinfo=UTC), due_soon_days=3)
    assert flags.deadline is not None
    assert flags.error is not None and "2027" in flags.error
    assert not flags.overdue and not flags.due_soon


@pytest.mark.parametrize("state", ["not_accepted", "redirected", "closed", "withdrawn"])
async def test_no_open_deadline_once_the_step_is_done(db: Database, state: str) -> None:
    events = await register_at(db, SEPT_28)
    assert deadlines.open_deadline(state, events) is None
