"""What live listeners see of the queues: ticket status and line snapshots, pushed after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role, User
from hall.accounts.users import Principal
from hall.cases.tables import Case, Petitioner
from hall.errors import Forbidden, NotFound
from hall.ports import EventBus
from hall.privacy import mask_name
from hall.queue import positions
from hall.queue.tables import Line, Room, Ticket, TicketEvent, TicketState
from hall.visits.tables import Visit, VisitState

SNAPSHOT_LIMIT = 200  # officers see the head of a long queue; the count says how long it is


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


# Roles that follow queue tickets (REST status and the `ticket:<id>` topic). The display board
# shows numbers and rooms through its `board` topic only; a department handles cases, not places
# in the hall's queue.
TICKET_READERS = frozenset(
    {Role.TERMINAL, Role.OFFICER, Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN}
)
# Roles that watch the hall's display board (the `/board` page and the `board` topic).
BOARD_ROLES = frozenset({Role.DISPLAY, Role.DESK, Role.SUPERVISOR, Role.ADMIN})


def may_watch_board(who: Principal) -> None:
    """`forbidden` unless `who` watches the display board."""
    if who.role not in BOARD_ROLES:
        raise Forbidden("无权查看叫号屏")


async def holds_query_code(session: AsyncSession, who: Principal, ticket: Ticket) -> bool:
    """Whether `who` registered the ticket and so hands the petitioner its query code (查询码):
    the terminal station of a remote ticket, the account that registered a walk-in (the first
    ticket of a transfer chain). Nobody else reads it from the queue: staff print it on the
    acceptance notice, the petitioner uses it on the public query."""
    if ticket.terminal_id is not None:
        return who.role == Role.TERMINAL and who.terminal_id == ticket.terminal_id
    first = ticket
    seen = {first.id}
    while first.transferred_from_id is not None and first.transferred_from_id not in seen:
        seen.add(first.transferred_from_id)
        first = await session.get_one(Ticket, first.transferred_from_id)
    return first.created_by is not None and first.created_by == who.user_id


async def ticket_status(
    session: AsyncSession, who: Principal, ticket_id: int, *, handle_default_s: int
) -> dict[str, Any]:
    """The status of a ticket: a terminal sees its own tickets, staff any; a finished ticket
    carries its case number and query code for the one who registered it only."""
    if who.role not in TICKET_READERS:
        raise Forbidden("无权查看排队号")
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"排队号 {ticket_id} 不存在")
    if who.role == Role.TERMINAL and (
        who.terminal_id is None or ticket.terminal_id != who.terminal_id
    ):
        raise Forbidden("无权查看该排队号")
    line = await session.get_one(Line, ticket.line_id)
    handle = await positions.average_handle_s(session, line.id, default_s=handle_default_s)
    pos = await positions.position(session, ticket, handle_s=handle)
    status = _ticket_status(ticket, line, pos.position, pos.estimate_s)
    if ticket.state == TicketState.DONE and await holds_query_code(session, who, ticket):
        # What the terminal shows at the end of the visit (the visit_ended event does not carry
        # the code: every follower of the topic would read it).
        case = await session.get_one(Case, ticket.case_id)
        status |= {"case_number": case.number, "query_code": case.query_code}
    elif ticket.state == TicketState.SERVING:
        visit_id = await session.scalar(
            select(Visit.id).where(Visit.ticket_id == ticket.id, Visit.state == VisitState.LIVE)
        )
        status["room"] = f"visit-{visit_id}" if visit_id is not None else None
    return status


async def line_snapshot(session: AsyncSession, line: Line) -> dict[str, Any]:
    """The waiting list of a line as officers see it: numbers and masked names."""
    rows = await session.execute(
        select(Ticket, Petitioner.name)
        .join(Petitioner, Petitioner.id == Ticket.petitioner_id)
        .where(
            Ticket.line_id == line.id,
            Ticket.state.in_([TicketState.WAITING, TicketState.OFFERED]),
        )
        .order_by(Ticket.rank_at, Ticket.id)
        .limit(SNAPSHOT_LIMIT)
    )
    waiting = [
        {
            "ticket_id": t.id,
            "number": t.number,
            "name": mask_name(name),
            "channel": t.channel,
            "head_count": t.head_count,
            "class": t.priority_class,
            "state": t.state,
            "away": t.disconnected_at is not None,
            "missed": t.missed_count,
            "since": t.effective_start.isoformat(),
        }
        for t, name in rows
    ]
    count = await session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.line_id == line.id, Ticket.state == TicketState.WAITING)
    )
    return {"line": line.code, "line_name": line.name, "count": count or 0, "waiting": waiting}


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
    handle = await positions.average_handle_s(session, line.id, default_s=handle_default_s)
    officers = await positions.serving_officers(session, line.id)
    for index, ticket in enumerate(await positions.waiting(session, [line.id])):
        estimate = (handle * index) // officers
        bus.publish(
            f"ticket:{ticket.id}",
            "ticket_status",
            _ticket_status(ticket, line, index + 1, estimate),
        )


async def board_counts(session: AsyncSession) -> dict[str, Any]:
    """Waiting tickets per line, for the hall display board."""
    rows = await session.execute(
        select(Line.code, Line.name, func.count(Ticket.id))
        .outerjoin(Ticket, and_(Ticket.line_id == Line.id, Ticket.state == TicketState.WAITING))
        .group_by(Line.id)
        .order_by(Line.sort)
    )
    return {"lines": [{"code": c, "name": n, "waiting": w} for c, n, w in rows]}


async def called_entry(session: AsyncSession, ticket: Ticket, room_name: str) -> dict[str, Any]:
    """One call as the display board shows it: number, room, masked name."""
    line = await session.get_one(Line, ticket.line_id)
    name = await session.scalar(
        select(Petitioner.name).where(Petitioner.id == ticket.petitioner_id)
    )
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "line": line.code,
        "line_name": line.name,
        "room": room_name,
        "name": mask_name(name or ""),
        "at": (ticket.called_at or ticket.created_at).isoformat(),
    }


async def recent_calls(session: AsyncSession, *, limit: int = 8) -> list[dict[str, Any]]:
    """The latest calls for a board that just (re)connected, newest first.

    Read from the queue log's `answered` rows, so a call stays on the board after the ticket
    missed it (过号) or moved on, as it does on a board that saw it live.
    """
    rows = await session.execute(
        select(TicketEvent.at, Ticket, Room.name)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .join(User, User.id == TicketEvent.actor_id)
        .outerjoin(Room, Room.id == User.room_id)
        .where(TicketEvent.kind == "answered")
        .order_by(TicketEvent.id.desc())
        .limit(limit)
    )
    out = []
    for at, ticket, room in rows:
        line = await session.get_one(Line, ticket.line_id)
        entry = await called_entry(session, ticket, room or f"{line.name}接谈室")
        entry["at"] = at.isoformat()
        out.append(entry)
    return out


async def terminal_tickets_in_play(
    session: AsyncSession, terminal_id: int
) -> list[tuple[Ticket, Line, int | None]]:
    """The terminal's tickets still in play (waiting, offered, serving), oldest first, each with
    its line and the id of its live visit (None if none)."""
    rows = await session.execute(
        select(Ticket, Line, Visit.id)
        .join(Line, Line.id == Ticket.line_id)
        # The live visit only: a ticket recalled after a missed call has older visits.
        .outerjoin(Visit, and_(Visit.ticket_id == Ticket.id, Visit.state == VisitState.LIVE))
        .where(
            Ticket.terminal_id == terminal_id,
            Ticket.state.in_([TicketState.WAITING, TicketState.OFFERED, TicketState.SERVING]),
        )
        .order_by(Ticket.id)
    )
    return [(ticket, line, visit_id) for ticket, line, visit_id in rows]


async def recent_no_shows(
    session: AsyncSession, *, limit: int = 50
) -> list[tuple[Ticket, Line, str]]:
    """The latest no-show tickets, newest first, each with its line and the petitioner's name
    (unmasked: the caller masks it)."""
    rows = await session.execute(
        select(Ticket, Line, Petitioner.name)
        .join(Line, Line.id == Ticket.line_id)
        .join(Petitioner, Petitioner.id == Ticket.petitioner_id)
        .where(Ticket.state == "no_show")
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    return [(ticket, line, name) for ticket, line, name in rows]
