"""The case timeline: append-only events chained by SHA-256 so that an edit is detectable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.model import CaseEvent, Visibility

GENESIS = "0" * 64


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
