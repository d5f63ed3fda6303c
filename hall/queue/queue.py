"""A line's queue (排队): ranking, the choice of the next ticket, claiming. Positions and wait
estimates are in `hall.queue.positions`.

Ordering (DESIGN §5): score = waited seconds + the class's head start, kept as `rank_at` =
`effective_start` - head start (smallest first), so priority ages and never starves anyone;
after `priority_quota` priority/urgent calls in a row on a line the longest-waiting normal ticket
goes next. Recusal (回避) and the first handler's wait (首办负责) make a ticket ineligible for some
officers. Every choice that passes over an earlier arrival is logged with its reason.

Queue log (`ticket_events`), one row per transition, `data` by kind:
  joined {channel, class, head_count} · answered {officer_id, wait_s, class, reason, jumped} ·
  offered {officer_id} · offer_expired / offer_declined / offer_released {officer_id} ·
  missed {officer_id, missed_count, moved_back} · no_show {missed_count} · reactivated {} ·
  disconnected {} · reconnected {} · abandoned {wait_s, reason} ·
  transferred / redirected {to_line, to_ticket_id, keep_wait, reason} · transfer_undone {} ·
  excluded {officer_id, reason} · finished {officer_id, handle_s} · interrupted {}
`wait_s` is measured from `effective_start` (transfers keep the waited time). An answered
event's `reason` is fifo, head_start, quota, recusal, first_handler or moved_back; `jumped` counts
the earlier arrivals it passed over among the candidates read for the choice (the 16 best-ranked
waiting tickets of the officer's lines, plus a line's best normal tickets when its quota applies);
an earlier arrival ranked further back is neither counted nor gives the reason.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.errors import QueueEmpty
from hall.queue import sql
from hall.queue.tables import Line, PriorityClass, Ticket, TicketState
from hall.settings import HALL_TZ, QueueSettings

# A petitioner holds at most one ticket in these states at a time.
ACTIVE_STATES = (TicketState.WAITING, TicketState.OFFERED, TicketState.SERVING)


async def ticket_in_play(
    session: AsyncSession, petitioner_id: int, *, besides: int | None = None
) -> str | None:
    """The number of the petitioner's ticket that waits, is offered or is served, if any."""
    query = select(Ticket.number).where(
        Ticket.petitioner_id == petitioner_id, Ticket.state.in_(ACTIVE_STATES)
    )
    if besides is not None:
        query = query.where(Ticket.id != besides)
    return await session.scalar(query)


def head_start_s(klass: str, settings: QueueSettings) -> int:
    """The head start of a priority class, in seconds."""
    if klass == PriorityClass.URGENT:
        return settings.urgent_head_start_s
    if klass == PriorityClass.PRIORITY:
        return settings.priority_head_start_s
    return 0


def rank_for(klass: str, effective_start: datetime, settings: QueueSettings) -> datetime:
    """The ranking key of a waiting ticket: the earlier, the sooner it is called."""
    return effective_start - timedelta(seconds=head_start_s(klass, settings))


async def log(
    session: AsyncSession,
    ticket: Ticket,
    kind: str,
    *,
    at: datetime,
    actor_id: int | None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Append one row to the queue log (a plain INSERT: the log is never read back through the
    session, so it skips the unit of work)."""
    connection = await session.connection()
    await connection.execute(
        sql.LOG,
        {
            "ticket_id": ticket.id,
            "line_id": ticket.line_id,
            "kind": kind,
            "at": at,
            "actor_id": actor_id,
            "data": dict(data or {}),
        },
    )


async def enqueue(
    session: AsyncSession,
    *,
    line: Line,
    case_id: int,
    petitioner_id: int,
    channel: str,
    head_count: int,
    terminal_id: int | None,
    created_by: int | None,
    now: datetime,
    settings: QueueSettings,
    priority_class: str = PriorityClass.NORMAL,
    priority_reason: str = "",
    approver_id: int | None = None,
    effective_start: datetime | None = None,
    preferred_officer_id: int | None = None,
    transferred_from_id: int | None = None,
) -> Ticket:
    """A new waiting ticket numbered with the line's letter and the hall day's sequence (C017)."""
    day = now.astimezone(HALL_TZ).date()
    connection = await session.connection()
    seq = (await connection.scalar(sql.LAST_SEQ, {"line_id": line.id, "day": day}) or 0) + 1
    start = effective_start or now
    row = {
        "line_id": line.id,
        "day": day,
        "seq": seq,
        "number": f"{line.letter}{seq:03d}",
        "channel": channel,
        "state": TicketState.WAITING,
        "case_id": case_id,
        "petitioner_id": petitioner_id,
        "terminal_id": terminal_id,
        "created_by": created_by,
        "head_count": head_count,
        "priority_class": priority_class,
        "priority_reason": priority_reason,
        "approver_id": approver_id,
        "effective_start": start,
        "rank_at": rank_for(priority_class, start, settings),
        "created_at": now,
        "called_at": None,
        "finished_at": None,
        "officer_id": None,
        "missed_count": 0,
        "preferred_officer_id": preferred_officer_id,
        "preferred_until": (
            now + timedelta(seconds=settings.first_handler_wait_s)
            if preferred_officer_id is not None
            else None
        ),
        "offered_to": None,
        "offer_expires_at": None,
        "disconnected_at": None,
        "transferred_from_id": transferred_from_id,
    }
    ticket: Ticket = (await session.scalars(sql.INSERT_TICKET, row)).one()
    await log(
        session,
        ticket,
        "joined",
        at=now,
        actor_id=created_by,
        data={"channel": channel, "class": priority_class, "head_count": head_count},
    )
    return ticket


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the choice of the next ticket needs to know about one waiting ticket."""

    id: int
    line_id: int
    klass: str
    rank_at: datetime
    effective_start: datetime
    excluded: frozenset[int] = frozenset()
    preferred_officer_id: int | None = None
    preferred_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """The chosen ticket, why it was chosen, and how many earlier arrivals it passed."""

    ticket_id: int
    reason: str  # fifo | head_start | quota | recusal | first_handler | moved_back
    jumped: int


def eligible(candidate: Candidate, officer_id: int, now: datetime) -> bool:
    """May this officer serve the ticket now (recusal, the first handler's wait)?"""
    if officer_id in candidate.excluded:
        return False
    return not (
        candidate.preferred_officer_id is not None
        and candidate.preferred_officer_id != officer_id
        and candidate.preferred_until is not None
        and now < candidate.preferred_until
    )


def choose(
    candidates: Sequence[Candidate],
    *,
    officer_id: int,
    now: datetime,
    streaks: Mapping[int, int],
    quota: int,
) -> Choice | None:
    """The next ticket for an officer among waiting `candidates` (any order), or None.

    Pure: the database layer feeds it the best-ranked candidates; property tests drive it.
    `streaks` maps a line to its current run of priority/urgent calls.
    """
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda c: (c.rank_at, c.id))
    allowed = [c for c in ranked if eligible(c, officer_id, now)]
    if not allowed:
        return None
    best = allowed[0]
    reason = "fifo"
    if best.klass != PriorityClass.NORMAL and streaks.get(best.line_id, 0) >= quota:
        normals = [
            c for c in allowed if c.klass == PriorityClass.NORMAL and c.line_id == best.line_id
        ]
        if normals:
            # For normal tickets rank = arrival, except those moved back by a missed call,
            # which must not win their place back through the quota.
            best = normals[0]
            reason = "quota"
    earlier = [c for c in ranked if (c.effective_start, c.id) < (best.effective_start, best.id)]
    if earlier and reason == "fifo":
        reason = _jump_reason(best, earlier, officer_id, now)
    return Choice(ticket_id=best.id, reason=reason, jumped=len(earlier))


def _jump_reason(
    best: Candidate, earlier: Sequence[Candidate], officer_id: int, now: datetime
) -> str:
    """Why `best` goes before the `earlier` arrivals."""
    if best.klass != PriorityClass.NORMAL:
        return "head_start"
    if any(officer_id in c.excluded for c in earlier):
        return "recusal"
    if any(not eligible(c, officer_id, now) for c in earlier):
        return "first_handler"
    return "moved_back"  # the earlier arrivals missed their call (过号) and were moved back


async def priority_streak(session: AsyncSession, line_id: int, *, quota: int) -> int:
    """How many of the line's latest calls in a row were priority or urgent (capped at quota)."""
    connection = await session.connection()
    rows = await connection.scalars(sql.LATEST_ANSWERS, {"line_id": line_id, "quota": quota})
    streak = 0
    for data in rows:
        if data.get("class", PriorityClass.NORMAL) == PriorityClass.NORMAL:
            break
        streak += 1
    return streak


def _candidate(row: Any, officer_id: int) -> Candidate:
    return Candidate(
        id=row.id,
        line_id=row.line_id,
        klass=row.priority_class,
        rank_at=row.rank_at,
        effective_start=row.effective_start,
        excluded=frozenset({officer_id}) if row.excluded_me else frozenset(),
        preferred_officer_id=row.preferred_officer_id,
        preferred_until=row.preferred_until,
    )


async def _rows(
    session: AsyncSession, query: Any, params: dict[str, int], officer_id: int
) -> list[tuple[int, Candidate]]:
    connection = await session.connection()
    result = await connection.execute(query, {**params, "officer_id": officer_id})
    return [(row.source, _candidate(row, officer_id)) for row in result]


async def claim(
    session: AsyncSession,
    ticket_id: int,
    *,
    officer_id: int,
    now: datetime,
    reason: str,
    jumped: int,
    from_states: Collection[str] = (TicketState.WAITING,),
) -> Ticket | None:
    """Make the ticket `serving` for the officer if it is still in `from_states`; None if another
    officer was faster. A conditional UPDATE, so two claims never both win."""
    claimed = await session.scalars(
        sql.CLAIM,
        {
            "ticket_id": ticket_id,
            "from_states": list(from_states),
            "now": now,
            "officer_id": officer_id,
        },
    )
    ticket: Ticket | None = claimed.one_or_none()
    if ticket is None:
        return None
    await log(
        session,
        ticket,
        "answered",
        at=now,
        actor_id=officer_id,
        data={
            "officer_id": officer_id,
            "wait_s": round((now - ticket.effective_start).total_seconds(), 3),
            "class": ticket.priority_class,
            "reason": reason,
            "jumped": jumped,
        },
    )
    return ticket


async def _readable(
    session: AsyncSession,
    line_ids: Sequence[int],
    normal_lines: Sequence[int],
    *,
    officer_id: int,
    now: datetime,
) -> list[Candidate]:
    """The best PAGE waiting tickets across `line_ids` and the best PAGE normal tickets of each of
    `normal_lines` (the quota), in one query. A full read with nothing this officer may take
    (recusal, first handler) is read on line by line, page by page, until each line has something
    or runs out, so a line's best eligible ticket never hides behind others the officer may not
    take. The best eligible ticket of the first read is the best eligible of all: every ticket
    not read ranks after it."""
    params = {f"line_{n}": line_id for n, line_id in enumerate(line_ids)}
    params |= {f"normal_{n}": line_id for n, line_id in enumerate(normal_lines)}
    rows = await _rows(
        session, sql.candidates(len(line_ids), len(normal_lines)), params, officer_id
    )
    best = [c for source, c in rows if source == sql.BEST]
    found = [c for _, c in rows]
    on: list[tuple[int, bool]] = []
    if len(best) >= sql.PAGE and not any(eligible(c, officer_id, now) for c in best):
        on += [(line_id, False) for line_id in line_ids]
    for line_id in normal_lines:
        normals = [c for source, c in rows if source == sql.NORMAL and c.line_id == line_id]
        if len(normals) >= sql.PAGE and not any(eligible(c, officer_id, now) for c in normals):
            on.append((line_id, True))
    for line_id, normal_only in on:
        offset = 0
        while True:
            page = [
                c
                for _, c in await _rows(
                    session,
                    sql.line_page(normal_only, offset),
                    {"line_0": line_id},
                    officer_id,
                )
            ]
            found += page
            if len(page) < sql.PAGE or any(eligible(c, officer_id, now) for c in page):
                break
            offset += sql.PAGE
    return list({c.id: c for c in found}.values())  # the reads may overlap


async def choose_next(
    session: AsyncSession,
    *,
    line_ids: Collection[int],
    officer_id: int,
    now: datetime,
    settings: QueueSettings,
) -> Choice | None:
    """The best ticket of `line_ids` for the officer under every rule, without claiming it.

    The quota needs a line's priority streak only when a priority ticket of that line would win,
    so the common case costs one query; the streak and the line's normal page are read then.
    """
    quota = settings.priority_quota
    streaks: dict[int, int] = {}
    while True:
        normal_lines = [line_id for line_id, n in streaks.items() if n >= quota]
        candidates = await _readable(
            session, list(line_ids), normal_lines, officer_id=officer_id, now=now
        )
        choice = choose(candidates, officer_id=officer_id, now=now, streaks=streaks, quota=quota)
        if choice is None:
            return None
        chosen = next(c for c in candidates if c.id == choice.ticket_id)
        if chosen.klass == PriorityClass.NORMAL or chosen.line_id in streaks:
            return choice
        streaks[chosen.line_id] = await priority_streak(session, chosen.line_id, quota=quota)
        if streaks[chosen.line_id] < quota:
            return choice
        # The quota applies: choose again with the line's best normal tickets in view.


async def take_next(
    session: AsyncSession,
    *,
    line_ids: Collection[int],
    officer_id: int,
    now: datetime,
    settings: QueueSettings,
) -> Ticket:
    """Claim the best waiting ticket of `line_ids` for the officer; `queue_empty` if none.

    Two officers calling at once never get the same ticket: the loser moves on to the next one.
    """
    for _ in range(8):
        choice = await choose_next(
            session, line_ids=line_ids, officer_id=officer_id, now=now, settings=settings
        )
        if choice is None:
            break
        ticket = await claim(
            session,
            choice.ticket_id,
            officer_id=officer_id,
            now=now,
            reason=choice.reason,
            jumped=choice.jumped,
        )
        if ticket is not None:
            return ticket
    raise QueueEmpty("当前没有可叫的排队号")
