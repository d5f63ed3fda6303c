"""Queue figures recomputed from a known queue log on a real SQLite file, asserted exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.cases.tables import Case, Petitioner
from hall.db import Database
from hall.queue.stats import (
    DayFigures,
    Figures,
    LogRow,
    Rate,
    day_bounds,
    figures,
    hall_day,
    percentile,
    queue_figures,
)
from hall.queue.tables import Line, Ticket, TicketEvent, TicketState
from hall.settings import QueueSettings

DAY = date(2026, 11, 2)
START = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # 00:00 on DAY in the hall (UTC+8)
NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # 14:00 local
SETTINGS = QueueSettings(short_abandon_s=30, service_level_s=600)


@dataclass
class Log:
    """Builds tickets and their queue-log rows on one line, directly in the tables."""

    session: AsyncSession
    lines: dict[str, Line]
    petitioner_id: int
    seq: int = 0
    tickets: list[Ticket] = field(default_factory=list)

    async def ticket(
        self, line: str, *, state: str = TicketState.DONE, start: datetime = START
    ) -> Ticket:
        self.seq += 1
        line_row = self.lines[line]
        case = Case(
            number=f"T{self.seq:06d}",
            query_code="Q",
            line_id=line_row.id,
            petitioner_id=self.petitioner_id,
            summary="事项",
            channel="walk_in",
            created_at=start,
        )
        self.session.add(case)
        await self.session.flush()
        ticket = Ticket(
            line_id=line_row.id,
            day=DAY,
            seq=self.seq,
            number=f"{line_row.letter}{self.seq:03d}",
            channel="walk_in",
            state=state,
            case_id=case.id,
            petitioner_id=self.petitioner_id,
            effective_start=start,
            rank_at=start,
            created_at=start,
        )
        self.session.add(ticket)
        await self.session.flush()
        return ticket

    def event(self, ticket: Ticket, kind: str, at: datetime, **data: Any) -> None:
        self.session.add(
            TicketEvent(ticket_id=ticket.id, line_id=ticket.line_id, kind=kind, at=at, data=data)
        )


async def build_log(db: Database) -> None:
    """The reference day on 城建 (urban), one answer on 企业 (enterprise), nothing on 涉法."""
    async with db.transaction() as session:
        lines = {x.code: x for x in await session.scalars(select(Line))}
        person = Petitioner(
            name="张三", id_number="110105194912310021", phone="13800138000", created_at=START
        )
        session.add(person)
        await session.flush()
        log = Log(session, lines, person.id)
        at = START + timedelta(hours=1)
        # Answers: 30, 60, 120, 700 s; one answered after 10 s, missed, answered again at 400 s.
        for wait in (30, 60, 120, 700):
            t = await log.ticket("urban")
            log.event(t, "joined", at, channel="walk_in", head_count=2)
            log.event(t, "answered", at + timedelta(seconds=wait), wait_s=wait, officer_id=1)
        again = await log.ticket("urban")
        log.event(again, "joined", at, head_count=1)
        log.event(again, "answered", at + timedelta(seconds=10), wait_s=10)
        log.event(again, "missed", at + timedelta(seconds=70), missed_count=1, moved_back=3)
        log.event(again, "answered", at + timedelta(seconds=400), wait_s=400)
        # Abandons: 10 s (short), 30 s (not short: the threshold itself counts), 900 s.
        for wait in (10, 30, 900):
            t = await log.ticket("urban", state=TicketState.ABANDONED)
            log.event(t, "abandoned", at + timedelta(seconds=wait), wait_s=wait, reason="left")
        # Handle times: 300 s, 500 s, and one row without handle_s (100 s after its answer).
        done = await log.ticket("urban")
        log.event(done, "finished", at + timedelta(seconds=300), handle_s=300)
        log.event(done, "finished", at + timedelta(seconds=500), handle_s=500)
        legacy = await log.ticket("urban")
        log.event(legacy, "answered", at + timedelta(hours=2), wait_s=0)
        log.event(legacy, "finished", at + timedelta(hours=2, seconds=100))
        moved = await log.ticket("urban", state=TicketState.TRANSFERRED)
        log.event(moved, "no_show", at, missed_count=3)
        log.event(moved, "transferred", at, to_line=4, keep_wait=True)
        log.event(moved, "redirected", at, to_line=4, keep_wait=False)
        log.event(moved, "transfer_undone", at)
        log.event(moved, "offered", at, officer_id=1)  # not a figure
        # Day boundaries: 15:59:59 UTC is the day before, 16:00 UTC the day after.
        edge = await log.ticket("urban")
        log.event(edge, "answered", START - timedelta(seconds=1), wait_s=5)
        log.event(edge, "answered", START, wait_s=50)
        log.event(edge, "answered", START + timedelta(days=1), wait_s=5)
        other = await log.ticket("enterprise")
        log.event(other, "answered", at, wait_s=50)
        # Live waiting tickets (today): 城建 since 5 and 2 minutes, 企业 since 1 minute.
        await log.ticket("urban", state=TicketState.WAITING, start=NOW - timedelta(minutes=5))
        await log.ticket("urban", state=TicketState.WAITING, start=NOW - timedelta(minutes=2))
        await log.ticket("enterprise", state=TicketState.WAITING, start=NOW - timedelta(minutes=1))


def line(day: DayFigures, code: str) -> Figures:
    return next(x.figures for x in day.lines if x.code == code)


# Answered waits on 城建: 50 (00:00 edge), 30, 60, 120, 700, 400, 0 → seven answers.
URBAN = {
    "joined": 5,
    "people": 9,
    "answered": 7,
    "asa_s": 1360 / 7,
    "wait_p50_s": 60.0,
    "wait_p90_s": 700.0,
    "abandoned": 3,
    "short_abandons": 1,
    "long_abandons": 2,
    "abandon_rate": Rate(2, 9),
    "sl1": Rate(6, 7),
    "sl2": Rate(6, 9),
    "finished": 3,
    "avg_handle_s": 300.0,
    "no_shows": 1,
    "transfers_out": 2,
    "transfers_undone": 1,
    "missed_calls": 1,
    "waiting_now": 2,
    "longest_wait_s": 300.0,
}
EMPTY = {
    "joined": 0,
    "answered": 0,
    "asa_s": None,
    "wait_p50_s": None,
    "wait_p90_s": None,
    "abandon_rate": Rate(0, 0),
    "sl1": Rate(0, 0),
    "sl2": Rate(0, 0),
    "avg_handle_s": None,
    "waiting_now": 0,
    "longest_wait_s": None,
}
TOTAL = {
    "answered": 8,
    "asa_s": 1410 / 8,
    "wait_p50_s": 50.0,
    "wait_p90_s": 700.0,
    "abandon_rate": Rate(2, 10),
    "sl1": Rate(7, 8),
    "sl2": Rate(7, 10),
    "waiting_now": 3,
    "longest_wait_s": 300.0,
}


@pytest.mark.parametrize(
    ("code", "expected"),
    [("urban", URBAN), ("legal", EMPTY), ("total", TOTAL)],
    ids=["urban", "empty-line", "total"],
)
async def test_figures_of_a_known_day_are_exact(
    db: Database, code: str, expected: dict[str, Any]
) -> None:
    await build_log(db)
    async with db.reader() as session:
        day = await queue_figures(session, day=DAY, now=NOW, settings=SETTINGS)
    got = day.total if code == "total" else line(day, code)
    for name, value in expected.items():
        actual = getattr(got, name)
        if isinstance(value, float):
            assert actual == pytest.approx(value), name
        else:
            assert actual == value, name


async def test_lines_come_in_display_order_with_the_day_bounds(db: Database) -> None:
    async with db.reader() as session:
        day = await queue_figures(session, day=DAY, now=NOW, settings=SETTINGS)
    assert [x.letter for x in day.lines] == list("ABCDEFG")
    assert (day.start, day.end) == (START, START + timedelta(days=1))
    assert (day.live, day.service_level_s, day.short_abandon_s) == (True, 600, 30)


async def test_a_past_day_has_no_live_figures_and_sees_only_its_own_events(db: Database) -> None:
    await build_log(db)
    async with db.reader() as session:
        before = await queue_figures(
            session, day=DAY - timedelta(days=1), now=NOW, settings=SETTINGS
        )
    urban = line(before, "urban")
    assert (urban.answered, urban.asa_s) == (1, 5.0)  # only the 15:59:59 UTC answer
    assert (urban.waiting_now, urban.longest_wait_s, before.live) == (None, None, False)
    assert before.total.abandon_rate.value == 0.0


async def test_short_abandon_threshold_comes_from_the_settings(db: Database) -> None:
    await build_log(db)
    async with db.reader() as session:
        strict = await queue_figures(
            session, day=DAY, now=NOW, settings=QueueSettings(short_abandon_s=0)
        )
    urban = line(strict, "urban")
    assert (urban.short_abandons, urban.abandon_rate) == (0, Rate(3, 10))


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7.0], 90, 7.0),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.0),
        ([4.0, 1.0, 3.0, 2.0], 90, 4.0),
        ([float(x) for x in range(1, 11)], 90, 9.0),
        ([float(x) for x in range(1, 11)], 91, 10.0),
        ([5.0, 5.0], 0, 5.0),
    ],
)
def test_percentiles_are_nearest_rank(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == expected


@pytest.mark.parametrize(
    ("rate", "value"), [(Rate(0, 0), None), (Rate(3, 0), None), (Rate(1, 4), 0.25)]
)
def test_a_zero_denominator_gives_none(rate: Rate, value: float | None) -> None:
    assert rate.value == value


def test_an_empty_log_gives_counts_of_zero_and_no_rates() -> None:
    empty = figures([], settings=SETTINGS, waiting=None, now=NOW)
    assert (empty.answered, empty.abandoned, empty.long_abandons) == (0, 0, 0)
    assert (empty.asa_s, empty.sl1.value, empty.sl2.value, empty.abandon_rate.value) == (
        None,
        None,
        None,
        None,
    )


def test_a_missed_call_withdraws_only_its_own_answer() -> None:
    at = NOW
    rows = [
        LogRow(1, ticket_id=1, line_id=1, kind="answered", at=at, data={"wait_s": 20}),
        LogRow(2, ticket_id=2, line_id=1, kind="answered", at=at, data={"wait_s": 40}),
        LogRow(3, ticket_id=1, line_id=1, kind="missed", at=at, data={}),
        LogRow(4, ticket_id=2, line_id=1, kind="finished", at=at, data={"handle_s": 60}),
    ]
    got = figures(rows, settings=SETTINGS, waiting=None, now=NOW)
    assert (got.answered, got.asa_s, got.missed_calls, got.avg_handle_s) == (1, 40.0, 1, 60.0)


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(2026, 11, 1, 15, 59, 59, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 11, 1, 16, 0, tzinfo=UTC), date(2026, 11, 2)),
        (datetime(2026, 11, 2, 15, 59, 59, tzinfo=UTC), date(2026, 11, 2)),
    ],
)
def test_the_local_day_turns_at_16_utc(moment: datetime, day: date) -> None:
    assert hall_day(moment) == day
    start, end = day_bounds(day)
    assert start <= moment < end
