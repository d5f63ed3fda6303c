"""Officers' availability (接访人员状态): offline, available, busy, wrap-up, away.

Presence (a console connected) turns an offline officer available and back; a visit makes the
officer busy; ending it starts a wrap-up that ends by itself; away carries a reason (an
unanswered auto-offer sets `no_answer`). `idle_since` orders the auto-offer (longest idle first).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.errors import Conflict, InvalidInput
from hall.queue.tables import OfficerLine, OfficerState, OfficerStatus
from hall.settings import QueueSettings
from hall.visits.tables import Visit, VisitState

AWAY_REASONS = ("break", "meeting", "training", "no_answer", "declined", "other")


@dataclass(frozen=True, slots=True)
class StatusView:
    """An officer's state as the console and supervisors see it."""

    user_id: int
    state: str
    reason: str
    since: datetime | None
    wrap_up_until: datetime | None


async def status_of(session: AsyncSession, user_id: int, *, now: datetime) -> OfficerStatus:
    """The officer's status row (created offline on first use)."""
    row = await session.get(OfficerStatus, user_id)
    if row is None:
        row = OfficerStatus(user_id=user_id, state=OfficerState.OFFLINE, reason="", since=now)
        session.add(row)
        await session.flush()
    return row


def _set(row: OfficerStatus, state: OfficerState, *, now: datetime, reason: str = "") -> None:
    if row.state != state:
        row.since = now
    row.state = state
    row.reason = reason
    row.wrap_up_until = None
    if state == OfficerState.AVAILABLE and row.idle_since is None:
        row.idle_since = now
    elif state != OfficerState.AVAILABLE:
        row.idle_since = None


def view(row: OfficerStatus) -> StatusView:
    return StatusView(row.user_id, row.state, row.reason, row.since, row.wrap_up_until)


async def set_state(
    session: AsyncSession, user_id: int, state: str, *, reason: str, now: datetime
) -> OfficerStatus:
    """What the officer chooses on the console: available, or away with a reason."""
    row = await status_of(session, user_id, now=now)
    if state == OfficerState.AVAILABLE:
        if row.state == OfficerState.BUSY:
            raise Conflict("接访进行中，结束后才能切换状态")
        _set(row, OfficerState.AVAILABLE, now=now)
    elif state == OfficerState.AWAY:
        if reason not in AWAY_REASONS:
            choices = "、".join(AWAY_REASONS)
            raise InvalidInput("暂离原因无效", fields={"reason": f"可选：{choices}"})
        if row.state == OfficerState.BUSY:
            raise Conflict("接访进行中，结束后才能暂离")
        _set(row, OfficerState.AWAY, now=now, reason=reason)
    else:
        raise InvalidInput("只能选择就绪或暂离", fields={"state": "available 或 away"})
    return row


async def mark_unanswered(
    session: AsyncSession, user_id: int, *, now: datetime, reason: str
) -> None:
    """An offer went unanswered or was declined: an available officer is set away (a busy one,
    who took a call meanwhile, stays busy)."""
    row = await status_of(session, user_id, now=now)
    if row.state in (OfficerState.AVAILABLE, OfficerState.WRAP_UP):
        _set(row, OfficerState.AWAY, now=now, reason=reason)


async def came_online(session: AsyncSession, user_id: int, *, now: datetime) -> OfficerStatus:
    """A console connected: an offline officer becomes available (other states stay)."""
    row = await status_of(session, user_id, now=now)
    if row.state == OfficerState.OFFLINE:
        live = await session.scalar(
            select(Visit.id).where(Visit.officer_id == user_id, Visit.state == VisitState.LIVE)
        )
        _set(row, OfficerState.BUSY if live else OfficerState.AVAILABLE, now=now)
    return row


async def went_offline(session: AsyncSession, user_id: int, *, now: datetime) -> OfficerStatus:
    """The officer's last console disconnected; a live visit keeps the officer busy."""
    row = await status_of(session, user_id, now=now)
    if row.state != OfficerState.BUSY:
        _set(row, OfficerState.OFFLINE, now=now)
    return row


async def started_visit(session: AsyncSession, user_id: int, *, now: datetime) -> None:
    _set(await status_of(session, user_id, now=now), OfficerState.BUSY, now=now)


async def ended_visit(
    session: AsyncSession, user_id: int, *, now: datetime, settings: QueueSettings
) -> None:
    """After a visit the officer wraps up for `wrap_up_s`, then is available again."""
    row = await status_of(session, user_id, now=now)
    _set(row, OfficerState.WRAP_UP, now=now)
    row.wrap_up_until = now + timedelta(seconds=settings.wrap_up_s)


async def end_wrap_ups(session: AsyncSession, *, now: datetime) -> list[int]:
    """Wrap-ups whose time is over become available; returns those officers."""
    rows = list(
        await session.scalars(
            select(OfficerStatus).where(
                OfficerStatus.state == OfficerState.WRAP_UP, OfficerStatus.wrap_up_until <= now
            )
        )
    )
    for row in rows:
        _set(row, OfficerState.AVAILABLE, now=now)
    return [row.user_id for row in rows]


async def longest_idle(
    session: AsyncSession, line_id: int, *, exclude: Collection[int] = ()
) -> list[int]:
    """Available officers of the line, longest idle first."""
    rows = await session.scalars(
        select(OfficerStatus.user_id)
        .join(OfficerLine, OfficerLine.user_id == OfficerStatus.user_id)
        .where(
            OfficerLine.line_id == line_id,
            OfficerStatus.state == OfficerState.AVAILABLE,
            OfficerStatus.user_id.not_in(list(exclude)),
        )
        .order_by(OfficerStatus.idle_since, OfficerStatus.user_id)
    )
    return list(rows)


async def line_officers(session: AsyncSession, line_id: int) -> list[StatusView]:
    """Every officer of the line with their status (offline when never seen)."""
    rows = await session.execute(
        select(OfficerLine.user_id, OfficerStatus)
        .outerjoin(OfficerStatus, OfficerStatus.user_id == OfficerLine.user_id)
        .where(OfficerLine.line_id == line_id)
        .order_by(OfficerLine.user_id)
    )
    out = []
    for user_id, status in rows:
        if status is None:
            out.append(StatusView(user_id, OfficerState.OFFLINE, "", None, None))
        else:
            out.append(view(status))
    return out


async def lines_of(session: AsyncSession, user_ids: Collection[int]) -> set[int]:
    """The lines these officers serve."""
    rows = await session.scalars(
        select(OfficerLine.line_id).where(OfficerLine.user_id.in_(list(user_ids)))
    )
    return set(rows)


async def all_offline(session: AsyncSession, *, now: datetime) -> None:
    """At start-up nobody is connected yet: every officer is offline until a console connects."""
    for row in await session.scalars(
        select(OfficerStatus).where(OfficerStatus.state != OfficerState.OFFLINE)
    ):
        _set(row, OfficerState.OFFLINE, now=now)
