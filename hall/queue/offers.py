"""Automatic call distribution per line (自动分配): the best waiting ticket is offered to the
longest-idle available officer, who accepts within the offer timeout, or the offer moves on and
the officer is set away (no answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.users import Principal
from hall.errors import Conflict, NotFound
from hall.queue import officers, queue
from hall.queue.tables import Line, Ticket, TicketState
from hall.settings import QueueSettings


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer just made: which ticket to which officer, until when."""

    ticket: Ticket
    officer_id: int
    expires_at: datetime


async def _holding_offers(session: AsyncSession) -> set[int]:
    rows = await session.scalars(
        select(Ticket.offered_to).where(Ticket.state == TicketState.OFFERED)
    )
    return {officer_id for officer_id in rows if officer_id is not None}


async def dispatch(
    session: AsyncSession, line_id: int, *, now: datetime, settings: QueueSettings
) -> list[Offer]:
    """Offer waiting tickets of an auto-offer line to its idle officers, longest idle first."""
    line = await session.get_one(Line, line_id)
    if not line.auto_offer:
        return []
    made: list[Offer] = []
    for officer_id in await officers.longest_idle(
        session, line_id, exclude=await _holding_offers(session)
    ):
        choice = await queue.choose_next(
            session, line_ids=[line_id], officer_id=officer_id, now=now, settings=settings
        )
        if choice is None:
            continue  # nothing this officer may take (recusal, first handler); try the next
        expires = now + timedelta(seconds=settings.offer_timeout_s)
        result = await session.execute(
            update(Ticket)
            .where(Ticket.id == choice.ticket_id, Ticket.state == TicketState.WAITING)
            .values(state=TicketState.OFFERED, offered_to=officer_id, offer_expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            continue
        ticket = await session.get_one(Ticket, choice.ticket_id)
        await session.refresh(ticket)
        await queue.log(
            session, ticket, "offered", at=now, actor_id=None, data={"officer_id": officer_id}
        )
        made.append(Offer(ticket=ticket, officer_id=officer_id, expires_at=expires))
    return made


async def decline(
    session: AsyncSession, officer: Principal, ticket_id: int, *, now: datetime
) -> Ticket:
    """The officer turns the offer down: the ticket waits again in its place and the officer is
    set away, so the next offer goes to someone else."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"排队号 {ticket_id} 不存在")
    if ticket.state != TicketState.OFFERED or ticket.offered_to != officer.user_id:
        raise Conflict(f"排队号 {ticket.number} 的分配已失效（当前：{ticket.state}）")
    await _withdraw(session, ticket, now=now, kind="offer_declined")
    await officers.mark_unanswered(session, officer.user_id, now=now, reason="declined")
    return ticket


async def _withdraw(session: AsyncSession, ticket: Ticket, *, now: datetime, kind: str) -> None:
    officer_id = ticket.offered_to
    ticket.state = TicketState.WAITING
    ticket.offered_to = None
    ticket.offer_expires_at = None
    await queue.log(
        session, ticket, kind, at=now, actor_id=officer_id, data={"officer_id": officer_id}
    )


async def release(session: AsyncSession, officer_id: int, *, now: datetime) -> list[Ticket]:
    """The officer's account ended (deactivated, password reset): every offer they hold goes
    back to waiting in its place at once (`offer_released`), rather than lapsing at its timeout.
    Returns the tickets released."""
    rows = list(
        await session.scalars(
            select(Ticket).where(
                Ticket.state == TicketState.OFFERED, Ticket.offered_to == officer_id
            )
        )
    )
    for ticket in rows:
        await _withdraw(session, ticket, now=now, kind="offer_released")
    return rows


async def expire(session: AsyncSession, *, now: datetime) -> list[tuple[Ticket, int]]:
    """Offers past their timeout move on; their officers are set away (no answer).
    Returns (ticket, officer) pairs."""
    rows = list(
        await session.scalars(
            select(Ticket).where(
                Ticket.state == TicketState.OFFERED, Ticket.offer_expires_at <= now
            )
        )
    )
    out = []
    for ticket in rows:
        officer_id = ticket.offered_to
        await _withdraw(session, ticket, now=now, kind="offer_expired")
        if officer_id is not None:
            await officers.mark_unanswered(session, officer_id, now=now, reason="no_answer")
            out.append((ticket, officer_id))
    return out
