"""What happens to a ticket besides being called: a missed call (过号), no-show and reactivation,
transfer and redirect with undo, recusal (回避), and follow-up tickets that prefer the case's first
handler (首办负责). A terminal's presence and leaving the queue are in `hall.queue.presence`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role, User
from hall.accounts.users import Principal
from hall.cases.tables import Case, Visibility
from hall.cases.timeline import append_event
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound
from hall.queue import officers, queue
from hall.queue.tables import Channel, Line, Ticket, TicketEvent, TicketExclusion, TicketState
from hall.settings import QueueSettings
from hall.visits.tables import Visit, VisitState

QUEUE_STAFF = (Role.DESK, Role.SUPERVISOR, Role.ADMIN, Role.LEADER)


async def get_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"排队号 {ticket_id} 不存在")
    return ticket


def may_manage(who: Principal, ticket: Ticket) -> None:
    """The desk and supervisors manage every queue; an officer the queues of their lines."""
    if who.role in QUEUE_STAFF:
        return
    if who.role == Role.OFFICER and ticket.line_id in who.line_ids:
        return
    raise Forbidden("无权调整该排队号")


async def _rank_after(session: AsyncSession, ticket: Ticket, places: int) -> datetime:
    """A rank that puts the ticket `places` places further back (or last) in its line."""
    behind = list(
        await session.scalars(
            select(Ticket.rank_at)
            .where(
                Ticket.line_id == ticket.line_id,
                Ticket.state == TicketState.WAITING,
                Ticket.id != ticket.id,
                Ticket.rank_at >= ticket.rank_at,
            )
            .order_by(Ticket.rank_at, Ticket.id)
            .limit(places)
        )
    )
    anchor = behind[-1] if behind else ticket.rank_at
    return max(anchor, ticket.rank_at) + timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Missed:
    """A missed call: the ticket either went back in the queue or became a no-show."""

    ticket: Ticket
    visit: Visit
    no_show: bool


async def miss(
    session: AsyncSession,
    officer: Principal,
    visit_id: int,
    *,
    now: datetime,
    settings: QueueSettings,
) -> Missed:
    """过号: the called visitor did not come. The ticket moves back k places, at most m times;
    then it is a no-show (the desk can reactivate it)."""
    visit = await session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"接访 {visit_id} 不存在")
    if visit.officer_id != officer.user_id:
        raise Forbidden("只有本次接访的接访人员可以过号")
    if visit.state != VisitState.LIVE:
        raise Conflict(f"接访 {visit_id} 已结束（{visit.state}）")
    ticket = await session.get_one(Ticket, visit.ticket_id)
    visit.state = VisitState.MISSED
    visit.ended_at = now
    ticket.missed_count += 1
    ticket.officer_id = None
    ticket.called_at = None
    no_show = ticket.missed_count > settings.missed_max
    if no_show:
        ticket.state = TicketState.NO_SHOW
        ticket.finished_at = now
        await queue.log(
            session,
            ticket,
            "no_show",
            at=now,
            actor_id=officer.user_id,
            data={"missed_count": ticket.missed_count},
        )
    else:
        ticket.state = TicketState.WAITING
        ticket.rank_at = await _rank_after(session, ticket, settings.missed_move_back)
        await queue.log(
            session,
            ticket,
            "missed",
            at=now,
            actor_id=officer.user_id,
            data={
                "officer_id": officer.user_id,
                "missed_count": ticket.missed_count,
                "moved_back": settings.missed_move_back,
            },
        )
    await officers.ended_visit(session, officer.user_id, now=now, settings=settings)
    await append_event(
        session,
        case_id=visit.case_id,
        kind="visit_missed",
        at=now,
        actor_id=officer.user_id,
        visibility=Visibility.PETITIONER,
        data={"visit_id": visit.id, "ticket": ticket.number, "no_show": no_show},
    )
    return Missed(ticket=ticket, visit=visit, no_show=no_show)


async def reactivate(
    session: AsyncSession,
    who: Principal,
    ticket_id: int,
    *,
    now: datetime,
    settings: QueueSettings,
) -> Ticket:
    """The desk brings a no-show back with its original arrival time."""
    if who.role not in QUEUE_STAFF:
        raise Forbidden("只有登记分流区可以恢复过号")
    ticket = await get_ticket(session, ticket_id)
    if ticket.state != TicketState.NO_SHOW:
        raise Conflict(f"排队号 {ticket.number} 不是过号状态（当前：{ticket.state}）")
    await _none_in_play(session, ticket.petitioner_id, besides=ticket.id)
    ticket.state = TicketState.WAITING
    ticket.missed_count = 0
    ticket.finished_at = None
    ticket.rank_at = queue.rank_for(ticket.priority_class, ticket.effective_start, settings)
    await queue.log(session, ticket, "reactivated", at=now, actor_id=who.user_id)
    return ticket


async def _none_in_play(
    session: AsyncSession, petitioner_id: int, *, besides: int | None = None
) -> None:
    other = await queue.ticket_in_play(session, petitioner_id, besides=besides)
    if other is not None:
        raise Conflict(f"该信访人已有进行中的排队号 {other}")


@dataclass(frozen=True, slots=True)
class Transferred:
    """A transfer or redirect: the old ticket ends, a new one waits in the target line."""

    old: Ticket
    new: Ticket
    ended_visit: Visit | None


async def transfer(
    session: AsyncSession,
    who: Principal,
    ticket_id: int,
    *,
    line_code: str,
    reason: str,
    keep_wait: bool,
    now: datetime,
    settings: QueueSettings,
) -> Transferred:
    """Move a waiting or serving ticket to another line. A transfer keeps the waited time (the
    time already served does not count as waiting); a redirect (`keep_wait=False`) starts anew.
    A serving ticket's visit ends with the outcome `transferred`."""
    if not 2 <= len(reason.strip()) <= 200:
        raise InvalidInput("请写明转办原因", fields={"reason": "2至200字"})
    ticket = await get_ticket(session, ticket_id)
    target = await session.scalar(select(Line).where(Line.code == line_code))
    if target is None:
        raise InvalidInput(f"未知条线：{line_code}", fields={"line": f"未知条线：{line_code}"})
    if target.id == ticket.line_id:
        raise InvalidInput("目标条线与当前相同", fields={"line": "请选择其他条线"})
    visit = None
    if ticket.state == TicketState.SERVING:
        visit = await session.scalar(
            select(Visit).where(Visit.ticket_id == ticket.id, Visit.state == VisitState.LIVE)
        )
        if visit is None or visit.officer_id != who.user_id:
            raise Forbidden("接访中的排队号只能由本次接访的接访人员转办")
        assert ticket.called_at is not None  # noqa: S101 - serving tickets were called
        waited = ticket.called_at - ticket.effective_start
        visit.state = VisitState.ENDED
        visit.ended_at = now
        visit.outcome = "transferred"
        await officers.ended_visit(session, who.user_id, now=now, settings=settings)
    elif ticket.state == TicketState.WAITING:
        may_manage(who, ticket)
        waited = now - ticket.effective_start
    else:
        raise Conflict(f"排队号 {ticket.number} 已{ticket.state}，不能转办")
    ticket.state = TicketState.TRANSFERRED
    ticket.finished_at = now
    new = await queue.enqueue(
        session,
        line=target,
        case_id=ticket.case_id,
        petitioner_id=ticket.petitioner_id,
        channel=Channel.TRANSFER,
        head_count=ticket.head_count,
        terminal_id=ticket.terminal_id,
        created_by=who.user_id,
        now=now,
        settings=settings,
        priority_class=ticket.priority_class,
        priority_reason=ticket.priority_reason,
        approver_id=ticket.approver_id,
        effective_start=now - waited if keep_wait else now,
        transferred_from_id=ticket.id,
    )
    # A terminal that is away stays away: the new ticket keeps the running grace window.
    new.disconnected_at = ticket.disconnected_at
    kind = "transferred" if keep_wait else "redirected"
    await queue.log(
        session,
        ticket,
        kind,
        at=now,
        actor_id=who.user_id,
        data={
            "to_line": target.code,
            "to_ticket_id": new.id,
            "keep_wait": keep_wait,
            "reason": reason.strip(),
        },
    )
    await append_event(
        session,
        case_id=ticket.case_id,
        kind="ticket_transferred",
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={
            "from_ticket": ticket.number,
            "to_ticket": new.number,
            "to_line": target.code,
            "keep_wait": keep_wait,
            "reason": reason.strip(),
        },
    )
    return Transferred(old=ticket, new=new, ended_visit=visit)


async def undo_transfer(
    session: AsyncSession,
    who: Principal,
    ticket_id: int,
    *,
    now: datetime,
    settings: QueueSettings,
) -> Transferred:
    """Recall a transfer within the undo window while the new ticket still waits: the old ticket
    waits again in its old line with its old waited time."""
    new = await get_ticket(session, ticket_id)
    if new.transferred_from_id is None:
        raise Conflict(f"排队号 {new.number} 不是转办产生的")
    if new.state != TicketState.WAITING:
        raise Conflict(f"排队号 {new.number} 已{new.state}，不能撤回")
    if now - new.created_at > timedelta(seconds=settings.undo_window_s):
        raise Conflict(f"已超过撤回时限（{settings.undo_window_s} 秒）")
    old = await session.get_one(Ticket, new.transferred_from_id)
    if who.user_id != new.created_by and who.role not in QUEUE_STAFF:
        raise Forbidden("只有转办人或登记分流区可以撤回")
    new.state = TicketState.TRANSFERRED
    new.finished_at = now
    old.state = TicketState.WAITING
    old.finished_at = None
    old.officer_id = None
    old.called_at = None
    old.disconnected_at = new.disconnected_at  # the terminal may have come back meanwhile
    old.rank_at = queue.rank_for(old.priority_class, old.effective_start, settings)
    await queue.log(session, new, "transfer_undone", at=now, actor_id=who.user_id)
    await queue.log(session, old, "transfer_undone", at=now, actor_id=who.user_id)
    await append_event(
        session,
        case_id=old.case_id,
        kind="transfer_undone",
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={"ticket": old.number, "cancelled": new.number},
    )
    return Transferred(old=new, new=old, ended_visit=None)


async def exclude(
    session: AsyncSession,
    who: Principal,
    ticket_id: int,
    *,
    username: str,
    reason: str,
    now: datetime,
) -> Ticket:
    """回避: the named officer must not serve this ticket."""
    ticket = await get_ticket(session, ticket_id)
    may_manage(who, ticket)
    if ticket.state not in (TicketState.WAITING, TicketState.OFFERED):
        raise Conflict(f"排队号 {ticket.number} 已{ticket.state}，不能设置回避")
    officer = await session.scalar(select(User).where(User.username == username))
    if officer is None or officer.role not in (Role.OFFICER, Role.LEADER):
        raise InvalidInput("回避对象无效", fields={"username": "须为接访人员账号"})
    if await session.get(TicketExclusion, (ticket.id, officer.id)) is None:
        session.add(TicketExclusion(ticket_id=ticket.id, user_id=officer.id, reason=reason))
    if ticket.preferred_officer_id == officer.id:
        # The first handler is recused: nobody else should wait for them (首办让位于回避).
        ticket.preferred_officer_id = None
        ticket.preferred_until = None
    if ticket.state == TicketState.OFFERED and ticket.offered_to == officer.id:
        ticket.state = TicketState.WAITING
        ticket.offered_to = None
        ticket.offer_expires_at = None
    await queue.log(
        session,
        ticket,
        "excluded",
        at=now,
        actor_id=who.user_id,
        data={"officer_id": officer.id, "reason": reason},
    )
    return ticket


async def follow_up(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    *,
    now: datetime,
    settings: QueueSettings,
    channel: Channel = Channel.WALK_IN,
) -> Ticket:
    """A follow-up ticket for an existing case; it waits a while for the officer who handled the
    case before (首办负责) before any officer may take it."""
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"信访事项 {case_id} 不存在")
    first = await session.scalar(
        select(Visit.officer_id)
        .where(Visit.case_id == case.id, Visit.state == VisitState.ENDED)
        .order_by(Visit.id)
    )
    await _none_in_play(session, case.petitioner_id)
    line = await session.get_one(Line, case.line_id)
    return await queue.enqueue(
        session,
        line=line,
        case_id=case.id,
        petitioner_id=case.petitioner_id,
        channel=channel,
        head_count=case.head_count,
        terminal_id=who.terminal_id,
        created_by=who.user_id,
        now=now,
        settings=settings,
        preferred_officer_id=first,
    )


async def events_of(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    """The ticket's queue log, oldest first."""
    rows = await session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    )
    return list(rows)
