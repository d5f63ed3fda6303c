"""Where a waiting ticket stands (排队位置): its live position and estimated wait, the line's
waiting tickets in serving order, and the figures the estimate uses (average handle time of
recent visits, officers serving the line)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.queue.tables import OfficerLine, OfficerState, OfficerStatus, Ticket, TicketState
from hall.visits.tables import Visit, VisitState


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """Where a waiting ticket stands: 1 means next; `estimate_s` is the expected wait."""

    position: int
    ahead: int
    estimate_s: int


def _ahead_of(ticket: Ticket) -> Any:
    return or_(
        Ticket.rank_at < ticket.rank_at,
        and_(Ticket.rank_at == ticket.rank_at, Ticket.id < ticket.id),
    )


async def waiting(session: AsyncSession, line_ids: Collection[int]) -> list[Ticket]:
    """The waiting tickets of these lines in serving order (by rank)."""
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.line_id.in_(line_ids), Ticket.state == TicketState.WAITING)
        .order_by(Ticket.rank_at, Ticket.id)
    )
    return list(rows)


async def serving_officers(session: AsyncSession, line_id: int) -> int:
    """Officers of the line who are working (available, busy or in wrap-up), at least 1."""
    count = await session.scalar(
        select(func.count())
        .select_from(OfficerLine)
        .join(OfficerStatus, OfficerStatus.user_id == OfficerLine.user_id)
        .where(
            OfficerLine.line_id == line_id,
            OfficerStatus.state.in_(
                [OfficerState.AVAILABLE, OfficerState.BUSY, OfficerState.WRAP_UP]
            ),
        )
    )
    return max(1, count or 0)


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
    officers = await serving_officers(session, ticket.line_id)
    return QueuePosition(position=ahead + 1, ahead=ahead, estimate_s=(handle_s * ahead) // officers)


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
