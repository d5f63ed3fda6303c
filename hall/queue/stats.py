"""Queue figures (排队指标) recomputed from the queue log (`ticket_events`) alone.

Per line and per local day of the hall (UTC+8), and in total across lines: ASA, wait percentiles,
abandonment rate without short abandons, service levels SL1/SL2, handle time, no-shows, transfers,
missed calls, plus two live figures (waiting now, longest current wait) from the tickets table.

Definitions (every rate keeps its numerator and denominator; a zero denominator gives None):
- answered: `answered` events carrying `wait_s`. An answer later followed by a `missed` event of
  the same ticket (the visitor did not come, 过号) is a missed call, not an answer; the ticket's
  next `answered` event counts instead (its `wait_s` still runs from `effective_start`).
- ASA: mean `wait_s` of the answered events. p50/p90: nearest-rank percentiles of the same waits
  (the smallest wait such that at least p % of the answers waited no longer).
- abandoned: `abandoned` events; short abandons (`wait_s` < `short_abandon_s`) are left out of
  the rate: abandonment rate = long abandons ÷ (answered + long abandons).
- SL1 = answered with `wait_s` ≤ `service_level_s` ÷ answered;
  SL2 = the same numerator ÷ (answered + long abandons).
- average handle time: mean `handle_s` of `finished` events (for a row without it, the time since
  the ticket's answer in the same day's log; rows with neither are left out).
- no-shows: `no_show` events; transfers out: `transferred` + `redirected` events on the line they
  leave (undone ones are counted again in `transfers_undone`); missed calls: `missed` events.
- joined: `joined` events (a transfer joins the new line too, so totals count it on both lines);
  people: the sum of their `head_count`.
- waiting now / longest current wait (live, today only): tickets in state `waiting`; the longest
  wait is now − the smallest `effective_start`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.queue.tables import Line, Ticket, TicketEvent, TicketState
from hall.settings import HALL_TZ, QueueSettings

# The queue-log kinds the figures read; other kinds (offers, disconnects, ...) do not count.
KINDS = (
    "joined",
    "answered",
    "missed",
    "abandoned",
    "no_show",
    "transferred",
    "redirected",
    "transfer_undone",
    "finished",
)


@dataclass(frozen=True, slots=True)
class LogRow:
    """One queue-log row as the figures need it (`data` fields by kind: see hall/queue/queue.py)."""

    id: int
    ticket_id: int
    line_id: int
    kind: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Waiting:
    """The live waiting tickets of one line: how many, and the earliest `effective_start`."""

    line_id: int
    count: int
    oldest_start: datetime


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate with its parts; `value` is None when the denominator is zero (shown as "—")."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """numerator ÷ denominator, or None for an empty denominator."""
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True, slots=True)
class Figures:
    """The queue figures of one line (or of all lines) for one day; durations in seconds."""

    joined: int
    people: int
    answered: int
    asa_s: float | None
    wait_p50_s: float | None
    wait_p90_s: float | None
    abandoned: int
    short_abandons: int
    abandon_rate: Rate
    sl1: Rate
    sl2: Rate
    finished: int
    avg_handle_s: float | None
    no_shows: int
    transfers_out: int
    transfers_undone: int
    missed_calls: int
    waiting_now: int | None  # None: not a live day
    longest_wait_s: float | None  # None: not a live day, or nobody waits

    @property
    def long_abandons(self) -> int:
        """Abandons that count in the abandonment rate."""
        return self.abandoned - self.short_abandons


@dataclass(frozen=True, slots=True)
class LineFigures:
    """One line (条线) and its figures."""

    line_id: int
    code: str
    name: str
    letter: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class DayFigures:
    """A local day's figures per line (in display order) and in total.

    `start`/`end` are the day's bounds in UTC (local midnight = 16:00 UTC the day before);
    `live` says whether `waiting_now` and `longest_wait_s` were read (the day is today).
    """

    day: date
    start: datetime
    end: datetime
    now: datetime
    live: bool
    service_level_s: int
    short_abandon_s: int
    lines: tuple[LineFigures, ...]
    total: Figures


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The hall's local day as a half-open interval [start, end) of aware datetimes."""
    start = datetime.combine(day, time(), tzinfo=HALL_TZ)
    return start, start + timedelta(days=1)


def hall_day(moment: datetime) -> date:
    """The hall's local date of an aware moment."""
    return moment.astimezone(HALL_TZ).date()


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p % of `values` ≤ it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def figures(
    rows: Iterable[LogRow],
    *,
    settings: QueueSettings,
    waiting: Sequence[Waiting] | None,
    now: datetime,
) -> Figures:
    """The figures of `rows` (one line's or all lines' log of one day).

    `waiting` is the live waiting state of the same lines, or None for a past day.
    """
    ordered = sorted(rows, key=lambda r: (r.at, r.id))
    answers: dict[int, LogRow] = {}  # the standing answer of each ticket, by ticket id
    counted: list[LogRow] = []  # answers in log order; a later `missed` withdraws one
    answered_at: dict[int, datetime] = {}
    joined = people = abandoned = short = finished = 0
    no_shows = transfers = undone = missed = 0
    handles: list[float] = []
    for row in ordered:
        kind = row.kind
        if kind == "joined":
            joined += 1
            people += int(_number(row.data, "head_count") or 1)
        elif kind == "answered":
            answered_at[row.ticket_id] = row.at
            if _number(row.data, "wait_s") is not None:
                answers[row.ticket_id] = row
                counted.append(row)
        elif kind == "missed":
            missed += 1
            withdrawn = answers.pop(row.ticket_id, None)
            if withdrawn is not None:
                counted.remove(withdrawn)
        elif kind == "abandoned":
            abandoned += 1
            wait = _number(row.data, "wait_s")
            if wait is not None and wait < settings.short_abandon_s:
                short += 1
        elif kind == "finished":
            finished += 1
            handle = _number(row.data, "handle_s")
            if handle is None and row.ticket_id in answered_at:
                handle = (row.at - answered_at[row.ticket_id]).total_seconds()
            if handle is not None:
                handles.append(handle)
        elif kind == "no_show":
            no_shows += 1
        elif kind in ("transferred", "redirected"):
            transfers += 1
        elif kind == "transfer_undone":
            undone += 1
    waits = [float(row.data["wait_s"]) for row in counted]
    in_time = sum(1 for w in waits if w <= settings.service_level_s)
    long_abandons = abandoned - short
    waiting_now: int | None = None
    longest: float | None = None
    if waiting is not None:
        waiting_now = sum(w.count for w in waiting)
        starts = [w.oldest_start for w in waiting if w.count]
        longest = max(0.0, (now - min(starts)).total_seconds()) if starts else None
    return Figures(
        joined=joined,
        people=people,
        answered=len(waits),
        asa_s=_mean(waits),
        wait_p50_s=percentile(waits, 50),
        wait_p90_s=percentile(waits, 90),
        abandoned=abandoned,
        short_abandons=short,
        abandon_rate=Rate(long_abandons, len(waits) + long_abandons),
        sl1=Rate(in_time, len(waits)),
        sl2=Rate(in_time, len(waits) + long_abandons),
        finished=finished,
        avg_handle_s=_mean(handles),
        no_shows=no_shows,
        transfers_out=transfers,
        transfers_undone=undone,
        missed_calls=missed,
        waiting_now=waiting_now,
        longest_wait_s=longest,
    )


def day_figures(
    day: date,
    lines: Sequence[Line],
    rows: Sequence[LogRow],
    waiting: Sequence[Waiting] | None,
    *,
    now: datetime,
    settings: QueueSettings,
) -> DayFigures:
    """Split one day's log by line (in the order of `lines`) and add the totals."""
    by_line: dict[int, list[LogRow]] = {line.id: [] for line in lines}
    for row in rows:
        by_line.setdefault(row.line_id, []).append(row)
    live = {w.line_id: w for w in waiting} if waiting is not None else None

    def line_waiting(line_id: int) -> list[Waiting] | None:
        if live is None:
            return None
        return [live[line_id]] if line_id in live else []

    start, end = day_bounds(day)
    return DayFigures(
        day=day,
        start=start,
        end=end,
        now=now,
        live=waiting is not None,
        service_level_s=settings.service_level_s,
        short_abandon_s=settings.short_abandon_s,
        lines=tuple(
            LineFigures(
                line_id=line.id,
                code=line.code,
                name=line.name,
                letter=line.letter,
                figures=figures(
                    by_line[line.id], settings=settings, waiting=line_waiting(line.id), now=now
                ),
            )
            for line in lines
        ),
        total=figures(rows, settings=settings, waiting=waiting, now=now),
    )


async def log_rows(session: AsyncSession, line_ids: Sequence[int], day: date) -> list[LogRow]:
    """The day's queue-log rows of the figure kinds, read through the (line_id, at) index."""
    start, end = day_bounds(day)
    result = await session.execute(
        select(
            TicketEvent.id,
            TicketEvent.ticket_id,
            TicketEvent.line_id,
            TicketEvent.kind,
            TicketEvent.at,
            TicketEvent.data,
        ).where(
            TicketEvent.line_id.in_(line_ids),
            TicketEvent.at >= start,
            TicketEvent.at < end,
            TicketEvent.kind.in_(KINDS),
        )
    )
    return [
        LogRow(id=i, ticket_id=t, line_id=ln, kind=k, at=at, data=data or {})
        for i, t, ln, k, at, data in result.all()
    ]


async def waiting_now(session: AsyncSession) -> list[Waiting]:
    """The live waiting tickets per line: count and earliest `effective_start`."""
    result = await session.execute(
        select(Ticket.line_id, func.count(), func.min(Ticket.effective_start))
        .where(Ticket.state == TicketState.WAITING)
        .group_by(Ticket.line_id)
    )
    return [Waiting(line_id=ln, count=n, oldest_start=oldest) for ln, n, oldest in result.all()]


async def queue_figures(
    session: AsyncSession, *, day: date, now: datetime, settings: QueueSettings
) -> DayFigures:
    """The queue figures of the hall's local `day`; live figures only when `day` is today."""
    lines = list(await session.scalars(select(Line).order_by(Line.sort, Line.id)))
    rows = await log_rows(session, [line.id for line in lines], day)
    waiting = await waiting_now(session) if day == hall_day(now) else None
    return day_figures(day, lines, rows, waiting, now=now, settings=settings)
