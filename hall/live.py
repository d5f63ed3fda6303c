"""What live listeners see of the queues: ticket status and line snapshots, pushed after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import queue
from hall.errors import Forbidden, NotFound
from hall.model import Case, Line, OfficerLine, Petitioner, Role, Ticket, TicketState, Visit
from hall.ports import EventBus
from hall.privacy import mask_name
from hall.users import Principal


def wait_band(seconds: int) -> str:
    """The estimate as people read it: 即将轮到您 / 约 10 分钟内 / 约 1 小时以上."""
    if seconds <= 60:
        return "即将轮到您"
    for limit in (5, 10, 15, 20, 30, 45, 60):
        if seconds <= limit * 60:
            return f"约 {limit} 分钟内"
    return "约 1 小时以上"


def _ticket_status(ticket: Ticket, line: Line, position: int, estimate_s: int) -> dict[str, Any]:
    waiting = ticket.state == TicketState.WAITING
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "line": line.code,
        "line_name": line.name,
        "state": ticket.state,
        "position": position if waiting else None,
        "ahead": position - 1 if waiting else None,
        "estimate_s": estimate_s if waiting else None,
        "estimate_band": wait_band(estimate_s) if waiting else None,
    }


async def ticket_status(
    session: AsyncSession, who: Principal, ticket_id: int, *, handle_default_s: int
) -> dict[str, Any]:
    """The status a terminal sees of its own ticket (staff may look at any)."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"排队号 {ticket_id} 不存在")
    if who.role == Role.TERMINAL and (
        who.terminal_id is None or ticket.terminal_id != who.terminal_id
    ):
        raise Forbidden("无权查看该排队号")
    line = await session.get_one(Line, ticket.line_id)
    handle = await queue.average_handle_s(session, line.id, default_s=handle_default_s)
    pos = await queue.position(session, ticket, handle_s=handle)
    status = _ticket_status(ticket, line, pos.position, pos.estimate_s)
    if ticket.state == TicketState.DONE:
        # What the terminal shows at the end, also for one that missed the visit_ended event.
        case = await session.get_one(Case, ticket.case_id)
        status |= {"case_number": case.number, "query_code": case.query_code}
    elif ticket.state == TicketState.SERVING:
        visit_id = await session.scalar(select(Visit.id).where(Visit.ticket_id == ticket.id))
        status["room"] = f"visit-{visit_id}" if visit_id is not None else None
    return status


async def line_snapshot(session: AsyncSession, line: Line) -> dict[str, Any]:
    """The waiting list of a line as officers see it: numbers and masked names."""
    rows = await session.execute(
        select(Ticket, Petitioner.name)
        .join(Petitioner, Petitioner.id == Ticket.petitioner_id)
        .where(Ticket.line_id == line.id, Ticket.state == TicketState.WAITING)
        .order_by(Ticket.effective_start, Ticket.id)
    )
    waiting = [
        {
            "ticket_id": t.id,
            "number": t.number,
            "name": mask_name(name),
            "channel": t.channel,
            "head_count": t.head_count,
            "since": t.effective_start.isoformat(),
        }
        for t, name in rows
    ]
    return {"line": line.code, "line_name": line.name, "waiting": waiting}


async def may_watch_line(session: AsyncSession, who: Principal, line_code: str) -> Line:
    """The line whose queue `who` may watch: its officers, the desk, leaders, supervisors."""
    line = await session.scalar(select(Line).where(Line.code == line_code))
    if line is None:
        raise NotFound(f"未知条线：{line_code}")
    if who.role in (Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN):
        return line
    if who.role == Role.OFFICER and line.id in who.line_ids:
        return line
    raise Forbidden("无权查看该条线的队列")


async def publish_line(
    session: AsyncSession, bus: EventBus, line_id: int, *, handle_default_s: int
) -> None:
    """Push the line's snapshot to its watchers and a fresh status to every waiting ticket."""
    line = await session.get_one(Line, line_id)
    bus.publish(f"line:{line.code}", "queue", await line_snapshot(session, line))
    handle = await queue.average_handle_s(session, line.id, default_s=handle_default_s)
    officers = len(
        list(
            await session.scalars(select(OfficerLine.user_id).where(OfficerLine.line_id == line_id))
        )
    )
    for index, ticket in enumerate(await queue.waiting(session, [line.id])):
        estimate = (handle * index) // max(1, officers)
        bus.publish(
            f"ticket:{ticket.id}",
            "ticket_status",
            _ticket_status(ticket, line, index + 1, estimate),
        )
