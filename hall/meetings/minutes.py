"""Minutes (会议纪要) and decisions (议定事项): the host writes them; when the meeting ends (or
minutes are saved after it ended) they land in the case timeline with the attendance
(`meeting_held`, `meeting_minutes`, one `meeting_decision` per decision, which its owning
department reads); decisions are listed for their owners and, overdue, for supervisors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Department, Role, User
from hall.accounts.users import Principal
from hall.cases.tables import Visibility
from hall.cases.timeline import append_event
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound
from hall.meetings import lobby, scheduling
from hall.meetings.tables import Meeting, MeetingDecision, MeetingMinutes, MeetingState
from hall.settings import HALL_TZ


@dataclass(frozen=True, slots=True)
class DecisionSpec:
    """A decision as the host writes it: what, whose (an account or a department), by when."""

    text: str
    due: date
    owner_user_id: int | None = None
    owner_department_id: int | None = None


def hall_today(now: datetime) -> date:
    return now.astimezone(HALL_TZ).date()


async def _check_decisions(session: AsyncSession, decisions: list[DecisionSpec]) -> None:
    problems: dict[str, str] = {}
    for n, spec in enumerate(decisions):
        where = f"decisions.{n}"
        if not spec.text.strip():
            problems[f"{where}.text"] = "请填写议定事项"
        if (spec.owner_user_id is None) == (spec.owner_department_id is None):
            problems[f"{where}.owner"] = "须指定一个责任人或一个责任单位"
            continue
        if spec.owner_user_id is not None:
            user = await session.get(User, spec.owner_user_id)
            if user is None or not user.active or user.role == Role.DISPLAY:
                problems[f"{where}.owner_user_id"] = "责任人账号不存在或已停用"
        elif spec.owner_department_id is not None:
            dept = await session.get(Department, spec.owner_department_id)
            if dept is None or not dept.active:
                problems[f"{where}.owner_department_id"] = "责任单位不存在或已停用"
    if problems:
        raise InvalidInput("会议纪要有误", fields=problems)


async def save(
    session: AsyncSession,
    who: Principal,
    meeting_id: int,
    text: str,
    decisions: list[DecisionSpec],
    *,
    now: datetime,
) -> MeetingMinutes:
    """The host writes (or rewrites) the minutes and their decisions, during the meeting or
    after it ended; after the end each save lands in the case timeline."""
    meeting = await scheduling.viewable(session, who, meeting_id)
    scheduling.require_host(who, meeting)
    if meeting.state not in (MeetingState.LIVE, MeetingState.ENDED):
        raise Conflict("会议开始后才能撰写纪要")
    await _check_decisions(session, decisions)
    row = await session.scalar(
        select(MeetingMinutes).where(MeetingMinutes.meeting_id == meeting.id)
    )
    if row is None:
        row = MeetingMinutes(
            meeting_id=meeting.id, text=text, revision=1, written_by=who.user_id, updated_at=now
        )
        session.add(row)
    else:
        row.text, row.revision, row.written_by, row.updated_at = (
            text,
            row.revision + 1,
            who.user_id,
            now,
        )
    await session.execute(delete(MeetingDecision).where(MeetingDecision.meeting_id == meeting.id))
    for seq, spec in enumerate(decisions, start=1):
        session.add(
            MeetingDecision(
                meeting_id=meeting.id,
                seq=seq,
                text=spec.text.strip(),
                owner_user_id=spec.owner_user_id,
                owner_department_id=spec.owner_department_id,
                due=spec.due,
            )
        )
    await session.flush()
    if meeting.state == MeetingState.ENDED:
        await _post_minutes(session, meeting, row, who, now=now)
    return row


async def decisions_of(session: AsyncSession, meeting_id: int) -> list[MeetingDecision]:
    return list(
        await session.scalars(
            select(MeetingDecision)
            .where(MeetingDecision.meeting_id == meeting_id)
            .order_by(MeetingDecision.seq)
        )
    )


def decision_json(decision: MeetingDecision, *, today: date | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": decision.id,
        "meeting_id": decision.meeting_id,
        "seq": decision.seq,
        "text": decision.text,
        "owner_user_id": decision.owner_user_id,
        "owner_department_id": decision.owner_department_id,
        "due": decision.due.isoformat(),
        "done_at": None if decision.done_at is None else decision.done_at.isoformat(),
    }
    if today is not None:
        found["overdue"] = decision.done_at is None and decision.due < today
    return found


async def minutes_of(
    session: AsyncSession, who: Principal, meeting_id: int
) -> tuple[MeetingMinutes | None, list[MeetingDecision]]:
    """The minutes and decisions of a meeting `who` may see (staff who may view it; a guest,
    terminal or department only the decisions they own, no minutes text)."""
    meeting = await scheduling.viewable(session, who, meeting_id)
    row = await session.scalar(
        select(MeetingMinutes).where(MeetingMinutes.meeting_id == meeting.id)
    )
    decisions = await decisions_of(session, meeting.id)
    if who.role in scheduling.STAFF_ROLES:
        return row, decisions
    return None, [d for d in decisions if _owns(who, d)]


def _owns(who: Principal, decision: MeetingDecision) -> bool:
    if who.role == Role.DEPARTMENT:
        return who.department_id is not None and decision.owner_department_id == who.department_id
    return who.user_id > 0 and decision.owner_user_id == who.user_id


async def _post_minutes(
    session: AsyncSession,
    meeting: Meeting,
    row: MeetingMinutes,
    who: Principal | None,
    *,
    now: datetime,
) -> None:
    if meeting.case_id is None:
        return
    decisions = await decisions_of(session, meeting.id)
    actor = who.user_id if who is not None and who.user_id > 0 else None
    await append_event(
        session,
        case_id=meeting.case_id,
        kind="meeting_minutes",
        at=now,
        actor_id=actor,
        visibility=Visibility.STAFF,
        data={
            "meeting_id": meeting.id,
            "title": meeting.title,
            "revision": row.revision,
            "text": row.text,
            "decisions": [decision_json(d) for d in decisions],
        },
    )
    for decision in decisions:
        await append_event(
            session,
            case_id=meeting.case_id,
            kind="meeting_decision",
            at=now,
            actor_id=actor,
            visibility=Visibility.STAFF,
            data={"title": meeting.title, "revision": row.revision, **decision_json(decision)},
        )


async def post_held(
    session: AsyncSession, meeting: Meeting, who: Principal | None, *, now: datetime
) -> None:
    """On the end of a meeting on a case: `meeting_held` (kind, times, attendance, the
    recording's id once recordings of meetings exist) and the minutes, if written."""
    if meeting.case_id is None:
        return
    await append_event(
        session,
        case_id=meeting.case_id,
        kind="meeting_held",
        at=now,
        actor_id=who.user_id if who is not None and who.user_id > 0 else None,
        visibility=Visibility.STAFF,
        data={
            "meeting_id": meeting.id,
            "kind": meeting.kind,
            "title": meeting.title,
            "started_at": None if meeting.started_at is None else meeting.started_at.isoformat(),
            "ended_at": now.isoformat(),
            "attendance": await lobby.attendance(session, meeting.id),
            "recording_id": meeting.recording_id,
        },
    )
    row = await session.scalar(
        select(MeetingMinutes).where(MeetingMinutes.meeting_id == meeting.id)
    )
    if row is not None:
        await _post_minutes(session, meeting, row, who, now=now)


async def my_decisions(session: AsyncSession, who: Principal) -> list[MeetingDecision]:
    """The decisions `who` owns (as an account, or its department), open ones first by due."""
    mine = [MeetingDecision.owner_user_id == who.user_id]
    if who.role == Role.DEPARTMENT and who.department_id is not None:
        mine.append(MeetingDecision.owner_department_id == who.department_id)
    return list(
        await session.scalars(
            select(MeetingDecision)
            .where(or_(*mine))
            .order_by(MeetingDecision.done_at.is_not(None), MeetingDecision.due, MeetingDecision.id)
        )
    )


async def all_decisions(session: AsyncSession, *, overdue_on: date | None) -> list[MeetingDecision]:
    """Every decision (for supervision), or only those open past their due date on `overdue_on`."""
    query = select(MeetingDecision)
    if overdue_on is not None:
        query = query.where(MeetingDecision.done_at.is_(None), MeetingDecision.due < overdue_on)
    return list(await session.scalars(query.order_by(MeetingDecision.due, MeetingDecision.id)))


async def mark_done(
    session: AsyncSession, who: Principal, decision_id: int, *, now: datetime
) -> MeetingDecision:
    """The owner reports a decision carried out (办结); idempotent."""
    decision = await session.get(MeetingDecision, decision_id)
    if decision is None:
        raise NotFound(f"议定事项 {decision_id} 不存在")
    if not _owns(who, decision):
        raise Forbidden("只有责任人或责任单位可以办结该议定事项")
    if decision.done_at is None:
        decision.done_at = now
    return decision
