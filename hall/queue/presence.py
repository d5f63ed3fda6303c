"""A waiting terminal's presence: the grace window of a dropped terminal (its tickets keep their
place, are not called while it is away, and are abandoned after `grace_s`), and leaving the
queue."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role
from hall.accounts.users import Principal
from hall.errors import Conflict, Forbidden
from hall.queue import queue, tickets
from hall.queue.tables import Channel, Ticket, TicketState
from hall.settings import QueueSettings


async def leave_queue(
    session: AsyncSession, who: Principal, ticket_id: int, *, now: datetime
) -> Ticket:
    """The visitor gives up the place (the terminal cancels, or the desk records it)."""
    ticket = await tickets.get_ticket(session, ticket_id)
    if who.role == Role.TERMINAL:
        if who.terminal_id is None or ticket.terminal_id != who.terminal_id:
            raise Forbidden("无权取消该排队号")
    else:
        tickets.may_manage(who, ticket)
    if ticket.state not in (TicketState.WAITING, TicketState.OFFERED):
        raise Conflict(f"排队号 {ticket.number} 已{ticket.state}，不能取消")
    await abandon(session, ticket, now=now, reason="left", actor_id=who.user_id)
    return ticket


async def abandon(
    session: AsyncSession, ticket: Ticket, *, now: datetime, reason: str, actor_id: int | None
) -> None:
    ticket.state = TicketState.ABANDONED
    ticket.finished_at = now
    ticket.offered_to = None
    ticket.offer_expires_at = None
    await queue.log(
        session,
        ticket,
        "abandoned",
        at=now,
        actor_id=actor_id,
        data={"wait_s": round((now - ticket.effective_start).total_seconds(), 3), "reason": reason},
    )


async def _tickets(session: AsyncSession, *where: ColumnElement[bool]) -> list[Ticket]:
    return list(await session.scalars(select(Ticket).where(*where)))


async def terminal_disconnected(
    session: AsyncSession, terminal_id: int, *, now: datetime
) -> list[Ticket]:
    """The terminal's last connection dropped: its waiting tickets start their grace window."""
    rows = await _tickets(
        session,
        Ticket.terminal_id == terminal_id,
        Ticket.channel.in_([Channel.REMOTE, Channel.TRANSFER]),
        Ticket.state.in_([TicketState.WAITING, TicketState.OFFERED]),
        Ticket.disconnected_at.is_(None),
    )
    await start_graces(session, rows, now=now)
    return rows


async def terminal_reconnected(
    session: AsyncSession, terminal_id: int, *, now: datetime
) -> list[Ticket]:
    """The terminal is back within the grace window: its tickets keep their place."""
    rows = await _tickets(
        session,
        Ticket.terminal_id == terminal_id,
        Ticket.state == TicketState.WAITING,
        Ticket.disconnected_at.is_not(None),
    )
    for ticket in rows:
        ticket.disconnected_at = None
        await queue.log(session, ticket, "reconnected", at=now, actor_id=None)
    return rows


async def expire_graces(
    session: AsyncSession, *, now: datetime, settings: QueueSettings
) -> list[Ticket]:
    """Tickets whose terminal stayed away beyond the grace window are abandoned."""
    limit = now - timedelta(seconds=settings.grace_s)
    rows = await _tickets(
        session, Ticket.state == TicketState.WAITING, Ticket.disconnected_at <= limit
    )
    for ticket in rows:
        await abandon(session, ticket, now=now, reason="grace_expired", actor_id=None)
    return rows


async def start_graces(session: AsyncSession, rows: list[Ticket], *, now: datetime) -> None:
    """The tickets' terminals are gone: keep their places from now on; an open offer goes back."""
    for ticket in rows:
        ticket.disconnected_at = now
        if ticket.state == TicketState.OFFERED:
            ticket.state = TicketState.WAITING
            ticket.offered_to = None
            ticket.offer_expires_at = None
        await queue.log(session, ticket, "disconnected", at=now, actor_id=None)


async def all_disconnected(session: AsyncSession, *, now: datetime) -> int:
    """At start-up no terminal is connected yet: remote tickets start their grace window now
    (a terminal that reconnects within it keeps its place). Returns how many."""
    rows = await _tickets(
        session,
        Ticket.terminal_id.is_not(None),
        Ticket.state.in_([TicketState.WAITING, TicketState.OFFERED]),
        Ticket.disconnected_at.is_(None),
    )
    await start_graces(session, rows, now=now)
    return len(rows)
