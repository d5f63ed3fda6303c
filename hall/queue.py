"""A line's queue (排队): numbering, ordering, live position, estimated wait, call next.

This is the first-in-first-out queue of the first video visit; DESIGN §5 (classes, aging, quota,
officer states) extends it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hall.errors import QueueEmpty
from hall.model import Line, OfficerLine, Ticket, TicketEvent, TicketState, Visit, VisitState


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """Where a waiting ticket stands: 1 means next; `estimate_s` is the expected wait."""

    position: int
    ahead: int
    estimate_s: int


async def log(
    session: AsyncSession,
    ticket: Ticket,
    kind: str,
    *,
    at: datetime,
    actor_id: int | None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Append one row to the queue log."""
    session.add(
        TicketEvent(ticket_id=ticket.id, kind=kind, at=at, actor_id=actor_id, data=dict(data or {}))
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
    day: date,
) -> Ticket:
    """A new waiting ticket numbered with the line's letter and the day's sequence (C017)."""
    seq = (
        await session.scalar(
            select(func.coalesce(func.max(Ticket.seq), 0)).where(
                Ticket.line_id == line.id, Ticket.day == day
            )
        )
        or 0
    ) + 1
    ticket = Ticket(
        line_id=line.id,
        day=day,
        seq=seq,
        number=f"{line.letter}{seq:03d}",
        channel=channel,
        state=TicketState.WAITING,
        case_id=case_id,
        petitioner_id=petitioner_id,
        terminal_id=terminal_id,
        created_by=created_by,
        head_count=head_count,
        effective_start=now,
        created_at=now,
    )
    session.add(ticket)
    await session.flush()
    await log(session, ticket, "joined", at=now, actor_id=created_by, data={"channel": channel})
    return ticket


def _ahead_of(ticket: Ticket) -> Any:
    return or_(
        Ticket.effective_start < ticket.effective_start,
        and_(Ticket.effective_start == ticket.effective_start, Ticket.id < ticket.id),
    )


async def waiting(session: AsyncSession, line_ids: Collection[int]) -> list[Ticket]:
    """The waiting tickets of these lines in serving order."""
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.line_id.in_(line_ids), Ticket.state == TicketState.WAITING)
        .order_by(Ticket.effective_start, Ticket.id)
    )
    return list(rows)


async def position(session: AsyncSession, ticket: Ticket, *, handle_s: int) -> QueuePosition:
    """The ticket's live position and its estimated wait (handle time × ahead ÷ officers)."""
    ahead = (
        await session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(
                Ticket.line_id == ticket.line_id,
                Ticket.state == TicketState.WAITING,
                _ahead_of(ticket),
            )
        )
        or 0
    )
    officers = (
        await session.scalar(
            select(func.count())
            .select_from(OfficerLine)
            .where(OfficerLine.line_id == ticket.line_id)
        )
        or 0
    )
    estimate = (handle_s * ahead) // max(1, officers)
    return QueuePosition(position=ahead + 1, ahead=ahead, estimate_s=max(0, estimate))


async def average_handle_s(session: AsyncSession, line_id: int, *, default_s: int) -> int:
    """Average handle time of the line's last 20 ended visits, or `default_s` when none."""
    recent = (
        select(Visit.started_at, Visit.ended_at)
        .join(Ticket, Ticket.id == Visit.ticket_id)
        .where(Ticket.line_id == line_id, Visit.state == VisitState.ENDED)
        .order_by(Visit.id.desc())
        .limit(20)
    )
    rows = (await session.execute(recent)).all()
    spans = [(end - start).total_seconds() for start, end in rows if end is not None]
    return int(sum(spans) / len(spans)) if spans else default_s


async def take_next(
    session: AsyncSession, *, line_ids: Collection[int], officer_id: int, now: datetime
) -> Ticket:
    """Claim the best waiting ticket of `line_ids` for the officer; `queue_empty` if none.

    The claim is a conditional UPDATE, so two officers calling at once never get the same ticket:
    the loser moves on to the next one.
    """
    for ticket in await waiting(session, line_ids):
        claimed = await session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id, Ticket.state == TicketState.WAITING)
            .values(state=TicketState.SERVING, called_at=now, officer_id=officer_id)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) == 1:
            await session.refresh(ticket)
            await log(session, ticket, "answered", at=now, actor_id=officer_id)
            return ticket
    raise QueueEmpty("当前没有等候的排队号")
