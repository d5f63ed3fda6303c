"""The queue engine's hot statements, built once and executed with parameters.

Call next and enqueue run a handful of statements each; building them per call (and hashing
their structure for SQLAlchemy's compiled cache) cost more Python time than the database spent
on them. Each statement here is constructed once, its cache key memoized on the object, and run
with bound parameters on the session's connection (Core: no unit of work for rows the session
never reads back). See docs/figures.md for the measurements behind this.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
    update,
)

from hall.queue.tables import PriorityClass, Ticket, TicketEvent, TicketExclusion, TicketState

PAGE = 16  # candidates read per line when choosing; more pages only if all are ineligible

TICKETS: Table = Ticket.__table__  # type: ignore[assignment]
EVENTS: Table = TicketEvent.__table__  # type: ignore[assignment]
EXCLUSIONS: Table = TicketExclusion.__table__  # type: ignore[assignment]

# One queue-log row; parameters: ticket_id, line_id, kind, at, actor_id, data.
LOG = insert(EVENTS)

# Make a ticket `serving` for an officer if it is still in one of `from_states` (a conditional
# UPDATE, so two claims never both win), returning the whole row as a Ticket entity.
CLAIM = (
    select(Ticket)
    .from_statement(
        update(TICKETS)
        .where(
            TICKETS.c.id == bindparam("ticket_id"),
            TICKETS.c.state.in_(bindparam("from_states", expanding=True)),
        )
        .values(
            state=TicketState.SERVING,
            called_at=bindparam("now", type_=TICKETS.c.called_at.type),
            officer_id=bindparam("officer_id"),
            offered_to=None,
            offer_expires_at=None,
        )
        .returning(*TICKETS.c)
    )
    .execution_options(populate_existing=True)
)

# The line's latest answered events (their class decides the priority streak); parameters:
# line_id, quota.
LATEST_ANSWERS = (
    select(EVENTS.c.data)
    .where(EVENTS.c.line_id == bindparam("line_id"), EVENTS.c.kind == "answered")
    .order_by(EVENTS.c.id.desc())
    .limit(bindparam("quota", type_=Integer))
)

# The hall day's last sequence number of a line; parameters: line_id, day.
LAST_SEQ = select(func.coalesce(func.max(TICKETS.c.seq), 0)).where(
    TICKETS.c.line_id == bindparam("line_id"),
    TICKETS.c.day == bindparam("day", type_=TICKETS.c.day.type),
)

# A new ticket row, returned as a Ticket entity; parameters: every column but id.
INSERT_TICKET = select(Ticket).from_statement(
    insert(TICKETS)
    .values({c.name: bindparam(c.name, type_=c.type) for c in TICKETS.c if c.name != "id"})
    .returning(*TICKETS.c)
)


def _page(param: str, *, normal_only: bool, offset: int, source: int) -> Any:
    """One line's waiting tickets in rank order, PAGE of them from `offset`; the line id is the
    parameter `param`, and `source` tells the caller which read a row came from.

    One line per subquery, so the (line_id, state, rank_at) index yields its rows in order with no
    sort of the whole queue; `excluded_me` answers recusal for this officer in the same trip.
    """
    excluded_me = (
        select(literal_column("1"))
        .where(
            EXCLUSIONS.c.ticket_id == TICKETS.c.id,
            EXCLUSIONS.c.user_id == bindparam("officer_id"),
        )
        .exists()
    )
    query = (
        select(
            TICKETS.c.id,
            TICKETS.c.line_id,
            TICKETS.c.priority_class,
            TICKETS.c.rank_at,
            TICKETS.c.effective_start,
            TICKETS.c.preferred_officer_id,
            TICKETS.c.preferred_until,
            excluded_me.label("excluded_me"),
            literal(source, Integer).label("source"),
        )
        .where(
            TICKETS.c.line_id == bindparam(param),
            TICKETS.c.state == TicketState.WAITING,
            TICKETS.c.disconnected_at.is_(None),  # keeps its place, but is not called while away
        )
        .order_by(TICKETS.c.rank_at, TICKETS.c.id)
        .offset(offset)
        .limit(PAGE)
    )
    if normal_only:
        query = query.where(TICKETS.c.priority_class == PriorityClass.NORMAL)
    return query


BEST = 0  # a row of the best PAGE across the officer's lines
NORMAL = 1  # a row of a line's best normal tickets (the priority quota)


@lru_cache(maxsize=64)
def candidates(lines: int, normal_lines: int) -> Any:
    """The first read of a choice, in one round trip: the best PAGE waiting tickets across
    `lines` lines (parameters line_0 …; each line's page merged, so only PAGE rows come back
    however many lines an officer serves) plus, for the priority quota, the best PAGE normal
    tickets of `normal_lines` lines (normal_0 …); and officer_id. Built once per shape."""
    pages = [
        _page(f"line_{n}", normal_only=False, offset=0, source=BEST).subquery()
        for n in range(lines)
    ]
    best: Any = select(pages[0])
    if len(pages) > 1:
        merged = union_all(*(select(page) for page in pages)).subquery()
        best = select(merged).order_by(merged.c.rank_at, merged.c.id).limit(PAGE)
    if not normal_lines:
        return best
    normals = [
        select(_page(f"normal_{n}", normal_only=True, offset=0, source=NORMAL).subquery())
        for n in range(normal_lines)
    ]
    return union_all(select(best.subquery()), *normals)


@lru_cache(maxsize=256)
def line_page(normal_only: bool, offset: int) -> Any:
    """One line's page at `offset` (parameters line_0, officer_id): reading on when a first
    read held nothing this officer may take."""
    return _page("line_0", normal_only=normal_only, offset=offset, source=BEST)
