"""Visits (接访): called from a ticket, live with a media room, ended with notes and an outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role
from hall.accounts.users import Principal
from hall.cases.tables import Case, Visibility
from hall.cases.timeline import append_event
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound
from hall.queue import officers, queue
from hall.queue.tables import Line, Room, Ticket, TicketState
from hall.settings import QueueSettings
from hall.visits.tables import Outcome, Visit, VisitState

MAX_NOTES = 20000


def media_room(visit_id: int) -> str:
    """The name of a visit's media room on the signaling server."""
    return f"visit-{visit_id}"


def visit_id_of_room(room: str) -> int | None:
    """The visit id named by a media room, or None if `room` is not a visit room."""
    prefix, _, number = room.partition("-")
    if prefix != "visit" or not number.isdigit():
        return None
    return int(number)


@dataclass(frozen=True, slots=True)
class Called:
    """A ticket just called, with its new visit."""

    visit: Visit
    ticket: Ticket
    case: Case
    line: Line


async def _check_can_serve(session: AsyncSession, officer: Principal) -> None:
    if not officer.has_role(Role.OFFICER, Role.LEADER):
        raise Forbidden("只有接访人员可以叫号")
    if not officer.line_ids:
        raise Conflict("该账号未分配条线")
    live = await session.scalar(
        select(Visit.id).where(Visit.officer_id == officer.user_id, Visit.state == VisitState.LIVE)
    )
    if live is not None:
        raise Conflict(f"当前接访（{live}）尚未结束，不能再叫号")


async def call_next(
    session: AsyncSession, officer: Principal, *, now: datetime, settings: QueueSettings
) -> Called:
    """Take the next ticket of the officer's lines and open a live visit for it."""
    await _check_can_serve(session, officer)
    ticket = await queue.take_next(
        session, line_ids=officer.line_ids, officer_id=officer.user_id, now=now, settings=settings
    )
    return await open_visit(session, officer, ticket, now=now)


async def accept_offer(
    session: AsyncSession, officer: Principal, ticket_id: int, *, now: datetime
) -> Called:
    """The officer accepts the ticket the auto-offer gave them: the visit opens."""
    await _check_can_serve(session, officer)
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"排队号 {ticket_id} 不存在")
    if ticket.state != TicketState.OFFERED or ticket.offered_to != officer.user_id:
        raise Conflict(f"排队号 {ticket.number} 的分配已失效（当前：{ticket.state}）")
    if ticket.offer_expires_at is not None and ticket.offer_expires_at <= now:
        # Past the timeout the offer has moved on, whether or not the sweeper ran yet.
        raise Conflict(f"排队号 {ticket.number} 的分配已超时")
    claimed = await queue.claim(
        session,
        ticket.id,
        officer_id=officer.user_id,
        now=now,
        reason="offer",
        jumped=0,
        from_states=(TicketState.OFFERED,),
    )
    if claimed is None:
        raise Conflict(f"排队号 {ticket.number} 的分配已失效")
    return await open_visit(session, officer, claimed, now=now)


async def open_visit(
    session: AsyncSession, officer: Principal, ticket: Ticket, *, now: datetime
) -> Called:
    """A live visit for a ticket the officer has just claimed."""
    await officers.started_visit(session, officer.user_id, now=now)
    visit = Visit(
        ticket_id=ticket.id,
        case_id=ticket.case_id,
        officer_id=officer.user_id,
        room_id=officer.room_id,
        state=VisitState.LIVE,
        started_at=now,
        notes="",
    )
    session.add(visit)
    await session.flush()
    await append_event(
        session,
        case_id=ticket.case_id,
        kind="visit_started",
        at=now,
        actor_id=officer.user_id,
        visibility=Visibility.PETITIONER,
        data={"visit_id": visit.id, "ticket": ticket.number, "channel": ticket.channel},
    )
    case = await session.get_one(Case, ticket.case_id)
    line = await session.get_one(Line, ticket.line_id)
    return Called(visit=visit, ticket=ticket, case=case, line=line)


async def get_visit(session: AsyncSession, visit_id: int) -> Visit:
    """The visit, or `not_found`."""
    visit = await session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"接访 {visit_id} 不存在")
    return visit


async def may_join(session: AsyncSession, who: Principal, visit_id: int) -> Visit:
    """The live visit whose media room `who` may join: its officer or its ticket's terminal."""
    visit = await get_visit(session, visit_id)
    if visit.state != VisitState.LIVE:
        raise Conflict(f"接访 {visit_id} 已结束（{visit.state}）")
    if who.user_id == visit.officer_id:
        return visit
    ticket = await session.get_one(Ticket, visit.ticket_id)
    if (
        who.role == Role.TERMINAL
        and who.terminal_id is not None
        and (who.terminal_id == ticket.terminal_id)
    ):
        return visit
    raise Forbidden("无权加入该接访")


# Roles that follow any visit's events (peer states, end, recording) without taking part.
OVERSEERS = frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN})


async def may_watch(session: AsyncSession, who: Principal, visit_id: int) -> Visit:
    """The visit whose events (`visit:<id>` topic) `who` may follow: leaders, supervisors and
    admins any; its officer and its terminal while it is live; no other role (the display
    board, a department, the desk)."""
    if who.role in OVERSEERS:
        return await get_visit(session, visit_id)
    if who.role not in (Role.OFFICER, Role.TERMINAL):
        raise Forbidden("无权关注该接访")
    return await may_join(session, who, visit_id)


async def _own_live_visit(session: AsyncSession, officer: Principal, visit_id: int) -> Visit:
    visit = await get_visit(session, visit_id)
    if visit.officer_id != officer.user_id:
        raise Forbidden("只有本次接访的接访人员可以操作")
    if visit.state != VisitState.LIVE:
        raise Conflict(f"接访 {visit_id} 已结束（{visit.state}）")
    return visit


async def save_notes(session: AsyncSession, officer: Principal, visit_id: int, notes: str) -> Visit:
    """Replace the visit's working notes (kept in the case file when the visit ends)."""
    if len(notes) > MAX_NOTES:
        raise InvalidInput("记录过长", fields={"notes": f"不超过{MAX_NOTES}字"})
    visit = await _own_live_visit(session, officer, visit_id)
    visit.notes = notes
    return visit


async def end_visit(
    session: AsyncSession,
    officer: Principal,
    visit_id: int,
    *,
    outcome: str,
    notes: str | None,
    now: datetime,
    settings: QueueSettings,
) -> tuple[Visit, Case]:
    """End a live visit with an outcome; the ticket is done and the case timeline records it."""
    try:
        result = Outcome(outcome)
    except ValueError:
        reason = f"未知的接谈结果：{outcome}"
        raise InvalidInput(reason, fields={"outcome": reason}) from None
    if notes is not None and len(notes) > MAX_NOTES:
        raise InvalidInput("记录过长", fields={"notes": f"不超过{MAX_NOTES}字"})
    visit = await _own_live_visit(session, officer, visit_id)
    if notes is not None:
        visit.notes = notes
    notes = visit.notes
    visit.state = VisitState.ENDED
    visit.ended_at = now
    visit.outcome = result
    ticket = await session.get_one(Ticket, visit.ticket_id)
    ticket.state = TicketState.DONE
    ticket.finished_at = now
    await queue.log(
        session,
        ticket,
        "finished",
        at=now,
        actor_id=officer.user_id,
        data={
            "officer_id": officer.user_id,
            "handle_s": round((now - visit.started_at).total_seconds(), 3),
        },
    )
    await officers.ended_visit(session, officer.user_id, now=now, settings=settings)
    await append_event(
        session,
        case_id=visit.case_id,
        kind="visit_ended",
        at=now,
        actor_id=officer.user_id,
        visibility=Visibility.PETITIONER,
        data={
            "visit_id": visit.id,
            "outcome": result,
            "duration_s": round((now - visit.started_at).total_seconds(), 1),
        },
    )
    if notes.strip():
        await append_event(
            session,
            case_id=visit.case_id,
            kind="note",
            at=now,
            actor_id=officer.user_id,
            visibility=Visibility.STAFF,
            data={"visit_id": visit.id, "text": notes},
        )
    case = await session.get_one(Case, visit.case_id)
    return visit, case


async def interrupt_live(session: AsyncSession, *, now: datetime) -> list[int]:
    """Mark visits left live by a crash as interrupted (their tickets too); returns their ids."""
    ids = list(await session.scalars(select(Visit.id).where(Visit.state == VisitState.LIVE)))
    if not ids:
        return []
    await session.execute(
        update(Visit).where(Visit.id.in_(ids)).values(state=VisitState.INTERRUPTED, ended_at=now)
    )
    await session.execute(
        update(Ticket)
        .where(Ticket.id.in_(select(Visit.ticket_id).where(Visit.id.in_(ids))))
        .values(state=TicketState.INTERRUPTED)
    )
    for visit_id in ids:
        visit = await session.get_one(Visit, visit_id)
        ticket = await session.get_one(Ticket, visit.ticket_id)
        await queue.log(session, ticket, "interrupted", at=now, actor_id=None)
        await append_event(
            session,
            case_id=visit.case_id,
            kind="visit_interrupted",
            at=now,
            actor_id=None,
            visibility=Visibility.STAFF,
            data={"visit_id": visit_id, "reason": "server restart"},
        )
    return ids


async def room_name_of(session: AsyncSession, visit: Visit) -> str:
    """The reception room the visit is held in, as the board names it (城建接谈室)."""
    if visit.room_id is not None:
        room = await session.get(Room, visit.room_id)
        if room is not None:
            return room.name
    ticket = await session.get_one(Ticket, visit.ticket_id)
    line = await session.get_one(Line, ticket.line_id)
    return f"{line.name}接谈室"


async def live_visit_of(session: AsyncSession, officer_id: int) -> Visit | None:
    """The officer's live visit, or None."""
    return await session.scalar(
        select(Visit).where(Visit.officer_id == officer_id, Visit.state == VisitState.LIVE)
    )


async def visit_count_of_case(session: AsyncSession, case_id: int) -> int:
    """How many visits the case has had (any state)."""
    return len(list(await session.scalars(select(Visit.id).where(Visit.case_id == case_id))))
