"""The case timeline: append-only events chained by SHA-256 so that an edit is detectable, and
which of its events each reader sees."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role
from hall.accounts.users import Principal
from hall.cases.tables import CaseEvent, Visibility

GENESIS = "0" * 64

# Kinds that are the bureau's internal work, never shown outside its staff whatever visibility an
# event was stored with: the officer's visit notes (接谈记录, which may quote identity numbers and
# phones), interruptions, repeat checks naming other people's cases, queue moves, recordings, the
# accused unit of a 检举控告.
STAFF_ONLY_KINDS = frozenset(
    {
        "note",
        "visit_interrupted",
        "repeat_linked",
        "repeat_overridden",
        "repeat_flagged",
        "ticket_transferred",
        "transfer_undone",
        "recording_ready",
        "recording_salvaged",
        "recording_quarantined",
        "accused_unit_recorded",
        # A meeting's attendance and its minutes (the whole record, every party's decisions).
        "meeting_held",
        "meeting_minutes",
    }
)
# Staff-visibility kinds a department still sees on a case it handles: its own handling steps.
DEPARTMENT_KINDS = frozenset(
    {"department_acknowledged", "department_objected", "supervision_opened", "supervision_feedback"}
)
# Roles of the bureau's staff: they read every event but restricted ones, and the visit notes.
STAFF_ROLES = frozenset({Role.OFFICER, Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN})


def reads_staff_events(who: Principal) -> bool:
    """Whether `who` reads the bureau's staff-only events and visit notes (staff roles only)."""
    return who.role in STAFF_ROLES


def readable_events(
    who: Principal, events: list[CaseEvent], *, accusation: bool
) -> list[CaseEvent]:
    """The events of a case's timeline `who` is shown on the case page. Staff: all but restricted
    ones. A department: what the petitioner may read plus its own handling steps (its
    acknowledgement, objection, supervision, its own state changes, the meeting decisions it
    owns), never a staff-only kind,
    and for a 检举控告 no trace of the evidence (`document_added`). Nobody else: none."""
    shown = [e for e in events if e.visibility != Visibility.RESTRICTED]
    if reads_staff_events(who):
        return shown
    if who.role != Role.DEPARTMENT:
        return []
    return [
        e
        for e in shown
        if e.kind not in STAFF_ONLY_KINDS
        and not (accusation and e.kind == "document_added")
        and (
            e.visibility in (Visibility.PUBLIC, Visibility.PETITIONER)
            or e.kind in DEPARTMENT_KINDS
            or (e.kind == "state_changed" and e.actor_id == who.user_id)
            or (
                e.kind == "meeting_decision"
                and who.department_id is not None
                and e.data.get("owner_department_id") == who.department_id
            )
        )
    ]


def event_hash(
    prev_hash: str, case_id: int, seq: int, kind: str, at: datetime, data: Mapping[str, Any]
) -> str:
    """The chain hash of one event: covers the previous hash and the event's content."""
    body = json.dumps(
        [prev_hash, case_id, seq, kind, at.astimezone(UTC).isoformat(), data],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


async def append_event(
    session: AsyncSession,
    *,
    case_id: int,
    kind: str,
    at: datetime,
    actor_id: int | None,
    visibility: Visibility,
    data: Mapping[str, Any] | None = None,
) -> CaseEvent:
    """Append one event to the case's timeline inside the caller's transaction."""
    last = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq.desc())
    )
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    payload = dict(data or {})
    event = CaseEvent(
        case_id=case_id,
        seq=seq,
        kind=kind,
        actor_id=actor_id,
        at=at,
        visibility=visibility,
        data=payload,
        prev_hash=prev,
        hash=event_hash(prev, case_id, seq, kind, at, payload),
    )
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a case's chain does not verify."""

    case_id: int
    seq: int
    reason: str


async def verify_chain(session: AsyncSession, case_id: int) -> list[ChainBreak]:
    """Every break in the case's hash chain (empty when intact)."""
    events = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
    )
    breaks: list[ChainBreak] = []
    prev = GENESIS
    for event in events:
        if event.prev_hash != prev:
            breaks.append(ChainBreak(case_id, event.seq, "prev_hash does not match"))
        expected = event_hash(event.prev_hash, case_id, event.seq, event.kind, event.at, event.data)
        if expected != event.hash:
            breaks.append(ChainBreak(case_id, event.seq, "content does not match its hash"))
        prev = event.hash
    return breaks


async def events_of(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    """Every timeline event of the case, in order (unfiltered: the caller filters by reader)."""
    return list(
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
        )
    )
