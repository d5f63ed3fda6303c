"""Recording rows (录音录像): participant files and the composite, hashed; audited reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import audit
from hall.accounts.tables import Role
from hall.accounts.users import Principal
from hall.cases.tables import Case, Visibility
from hall.cases.timeline import append_event
from hall.errors import Forbidden, NotFound
from hall.visits.tables import Recording, RecordingState

# Roles that may play or download a recording (each access is audited).
PLAYBACK_ROLES = (Role.OFFICER, Role.LEADER, Role.SUPERVISOR, Role.ADMIN)


async def add(
    session: AsyncSession,
    *,
    visit_id: int,
    case_id: int,
    kind: str,
    participant: str,
    path: str,
    now: datetime,
    salvaged: bool = False,
) -> Recording:
    """A recording row in state `processing`; `salvaged` for a file a crash cut short."""
    row = Recording(
        visit_id=visit_id,
        case_id=case_id,
        kind=kind,
        participant=participant,
        path=path,
        state=RecordingState.PROCESSING,
        created_at=now,
        streams={},
        error="",
        salvaged=salvaged,
    )
    session.add(row)
    await session.flush()
    return row


async def mark_ready(
    session: AsyncSession,
    recording_id: int,
    *,
    path: str,
    duration_s: float,
    size_bytes: int,
    sha256: str,
    streams: Mapping[str, Any],
    now: datetime,
) -> Recording:
    """Record the probed facts and hash of a finished file; each enters the case timeline."""
    row = await session.get_one(Recording, recording_id)
    row.state = RecordingState.READY
    row.path = path
    row.duration_s = duration_s
    row.size_bytes = size_bytes
    row.sha256 = sha256
    row.streams = dict(streams)
    await _event(
        session,
        row,
        "recording_ready",
        now,
        kind=row.kind,
        duration_s=round(duration_s, 2),
        sha256=sha256,
    )
    return row


async def _event(
    session: AsyncSession, row: Recording, event: str, now: datetime, **data: object
) -> None:
    """A staff-visible timeline event about the recording `row` (the system is the actor)."""
    await append_event(
        session,
        case_id=row.case_id,
        kind=event,
        at=now,
        actor_id=None,
        visibility=Visibility.STAFF,
        data={
            "recording_id": row.id,
            "visit_id": row.visit_id,
            "participant": row.participant,
            **data,
        },
    )


async def mark_failed(session: AsyncSession, recording_id: int, *, error: str) -> Recording:
    """Keep the row (the files stay for inspection) with the reason post-processing failed."""
    row = await session.get_one(Recording, recording_id)
    row.state = RecordingState.FAILED
    row.error = error[:4000]
    return row


async def mark_salvaged(
    session: AsyncSession, recording_id: int, *, path: str, duration_s: float, now: datetime
) -> Recording:
    """A participant file a crash cut short was remuxed into `path` (录制因服务中断而截止): the row
    stays `processing` for post-processing; the case timeline keeps the salvaged duration."""
    row = await session.get_one(Recording, recording_id)
    row.path = path
    row.salvaged = True
    await _event(
        session,
        row,
        "recording_salvaged",
        now,
        duration_s=round(duration_s, 2),
        reason="server restart",
    )
    return row


async def mark_quarantined(
    session: AsyncSession, recording_id: int, *, error: str, now: datetime
) -> Recording:
    """A file a crash left behind could not be salvaged and was moved to quarantine: the row fails
    with `error` (naming the file and the reason) and the case timeline says so."""
    row = await mark_failed(session, recording_id, error=error)
    await _event(
        session,
        row,
        "recording_quarantined",
        now,
        error=row.error[:500],
        reason="server restart",
    )
    return row


async def for_visit(session: AsyncSession, visit_id: int) -> list[Recording]:
    """All recordings of a visit, oldest first."""
    rows = await session.scalars(
        select(Recording).where(Recording.visit_id == visit_id).order_by(Recording.id)
    )
    return list(rows)


async def unfinished(session: AsyncSession) -> list[Recording]:
    """Recordings still `processing` (at start-up: left so by a crash), oldest first."""
    rows = await session.scalars(
        select(Recording).where(Recording.state == RecordingState.PROCESSING).order_by(Recording.id)
    )
    return list(rows)


async def for_case(session: AsyncSession, case_id: int) -> list[Recording]:
    """All recordings of a case, oldest first."""
    rows = await session.scalars(
        select(Recording).where(Recording.case_id == case_id).order_by(Recording.id)
    )
    return list(rows)


def may_play(who: Principal, case: Case) -> bool:
    """Whether `who` may play or download the recordings of `case`: leaders, supervisors,
    admins, and officers of the case's line (the case page links them for these only)."""
    if who.role not in PLAYBACK_ROLES:
        return False
    return who.role != Role.OFFICER or case.line_id in who.line_ids


async def open_for_playback(
    session: AsyncSession,
    who: Principal,
    recording_id: int,
    *,
    now: datetime,
    action: str,
    audited: bool = True,
) -> Recording:
    """The ready recording `who` may play; each granted read is audited (`audited=False` for the
    follow-up range requests of one playback, so seeking does not flood the log)."""
    row = await session.get(Recording, recording_id)
    if row is None:
        raise NotFound(f"录音录像 {recording_id} 不存在")
    if not may_play(who, await session.get_one(Case, row.case_id)):
        raise Forbidden("无权查看该录音录像")
    if row.state != RecordingState.READY:
        raise NotFound(f"录音录像 {recording_id} 尚未处理完成（{row.state}）")
    if not audited:
        return row
    await audit.record(
        session,
        at=now,
        user_id=who.user_id,
        action=action,
        target_type="recording",
        target_id=recording_id,
    )
    return row
