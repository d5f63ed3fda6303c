"""Satisfaction evaluation (满意度评价): opens when a case is answered (the transition to
`responded`), one per such response, within `CaseSettings.evaluation_days`; afterwards the response
is `evaluation_expired`. A review decision (`reviewed`, `rereviewed`) is not a new response: the
latest `responded` step and its evaluation row stay the ones that count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role, User
from hall.accounts.users import Principal
from hall.cases import states
from hall.cases.tables import (
    Case,
    CaseEvent,
    CaseOutcome,
    CaseState,
    Evaluation,
    Petitioner,
    Visibility,
)
from hall.cases.timeline import append_event
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound
from hall.privacy import mask_name
from hall.queue.tables import Line
from hall.settings import HALL_TZ

EVALUATED = "evaluation"
EXPIRED = "evaluation_expired"
COMMENT_MAX = 500
GRADES: Mapping[str, str] = MappingProxyType(
    {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
)
CHANNELS = frozenset({"query", "terminal"})
CHANNEL_LABELS: Mapping[str, str] = MappingProxyType(
    {"query": "查询页", "terminal": "村信息中心终端"}
)
SWEEP_BATCH = 50  # expiries per transaction of the sweep: SQLite's write lock is held briefly
TAKEN = "该答复已评价或评价期限已届满"
# States a case may be in after a response (答复): where an evaluation may be open or expire.
ANSWERED = frozenset(CaseState) - {
    CaseState.REGISTERED,
    CaseState.TRIAGED,
    CaseState.TRANSFERRED,
    CaseState.ASSIGNED,
    CaseState.ACCEPTED,
    CaseState.IN_PROGRESS,
}


@dataclass(frozen=True, slots=True)
class EvaluationStatus:
    """Where the evaluation of the case's latest response stands.

    `state`: `not_open` (no response yet), `open`, `evaluated` or `expired`; `deadline` is the
    last day (hall time) an evaluation is accepted.
    """

    state: str
    deadline: date | None
    grade: str | None
    channel: str | None = None  # query | terminal, once evaluated


async def _response(session: AsyncSession, case_id: int) -> CaseEvent | None:
    events = await session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == states.EVENT_KIND)
        .order_by(CaseEvent.seq.desc())
    )
    for event in events:
        if event.data.get("to") == CaseState.RESPONDED:
            return event
    return None


def _deadline(response: CaseEvent, days: int) -> date:
    return response.at.astimezone(HALL_TZ).date() + timedelta(days=days)


async def _row(session: AsyncSession, case_id: int, seq: int) -> Evaluation | None:
    return await session.scalar(
        select(Evaluation).where(Evaluation.case_id == case_id, Evaluation.response_seq == seq)
    )


async def status(
    session: AsyncSession, case: Case, *, now: datetime, days: int
) -> EvaluationStatus:
    """The evaluation state of the latest response, computed (nothing written)."""
    response = await _response(session, case.id)
    if response is None:
        return EvaluationStatus("not_open", None, None)
    deadline = _deadline(response, days)
    row = await _row(session, case.id, response.seq)
    if row is not None:
        return EvaluationStatus(row.state, deadline, row.grade, row.channel or None)
    if now.astimezone(HALL_TZ).date() > deadline:
        return EvaluationStatus("expired", deadline, None)
    return EvaluationStatus("open", deadline, None)


async def _insert_row(session: AsyncSession, **values: Any) -> int | None:
    """Insert the evaluation row of a response unless one exists (`INSERT … ON CONFLICT DO
    NOTHING`): the id, or None when a concurrent grade or expiry got there first. A plain insert
    after a status check would raise on the unique (case_id, response_seq) instead."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Evaluation)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["case_id", "response_seq"])
        .returning(Evaluation.id)
    )
    row_id: int | None = await session.scalar(statement)
    return row_id


async def _record_expired(session: AsyncSession, case_id: int, seq: int, now: datetime) -> bool:
    """The expiry row and its `evaluation_expired` event; False if the response had a row."""
    values = {"case_id": case_id, "response_seq": seq, "state": "expired", "at": now}
    if await _insert_row(session, **values, comment="", channel="") is None:
        return False
    await append_event(
        session,
        case_id=case_id,
        kind=EXPIRED,
        at=now,
        actor_id=None,
        visibility=Visibility.PUBLIC,
        data={"response_seq": seq},
    )
    return True


async def record_expiry(
    session: AsyncSession, case: Case, *, now: datetime, days: int
) -> EvaluationStatus:
    """`status`, recording an expired window (row + `evaluation_expired` event) on read."""
    current = await status(session, case, now=now, days=days)
    response = await _response(session, case.id)
    if current.state != "expired" or response is None:
        return current
    if await _row(session, case.id, response.seq) is None:
        await _record_expired(session, case.id, response.seq, now)
    return current


async def sweep_expired(
    session: AsyncSession, *, now: datetime, days: int, limit: int = SWEEP_BATCH
) -> int:
    """Record at most `limit` expired, unevaluated responses in the caller's transaction;
    returns how many were recorded (fewer than `limit`: nothing is left for now).

    The candidates come from one query: each answered case's latest `responded` step whose day
    (hall time) is more than `days` days before today, without an evaluations row. The caller
    runs it batch after batch, one short transaction each (`services.evaluation_sweeper`).
    """
    today = now.astimezone(HALL_TZ).date()
    # Expired when the response's hall day + days < today, i.e. it happened before this instant.
    cutoff = datetime.combine(today - timedelta(days=days), time(), tzinfo=HALL_TZ)
    responded = and_(
        CaseEvent.kind == states.EVENT_KIND,
        CaseEvent.data["to"].as_string() == CaseState.RESPONDED.value,
    )
    latest = (
        select(CaseEvent.case_id, func.max(CaseEvent.seq).label("seq"))
        .where(responded)
        .group_by(CaseEvent.case_id)
        .subquery()
    )
    candidates = await session.execute(
        select(CaseEvent.case_id, CaseEvent.seq)
        .join(latest, and_(latest.c.case_id == CaseEvent.case_id, latest.c.seq == CaseEvent.seq))
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            CaseEvent.at < cutoff,
            Case.state.in_([s.value for s in ANSWERED]),
            ~exists().where(
                Evaluation.case_id == CaseEvent.case_id, Evaluation.response_seq == CaseEvent.seq
            ),
        )
        .order_by(CaseEvent.case_id)
        .limit(limit)
    )
    recorded = 0
    for case_id, seq in candidates.all():
        recorded += await _record_expired(session, case_id, seq, now)
    return recorded


async def evaluate(
    session: AsyncSession,
    case: Case,
    *,
    grade: str,
    comment: str,
    channel: str,
    now: datetime,
    days: int,
    actor_id: int | None = None,
) -> Evaluation:
    """Record the petitioner's grade of the latest response; `conflict` when no response is
    open for evaluation (not answered yet, already evaluated, or the window has passed)."""
    if grade not in GRADES:
        raise InvalidInput(f"未知的评价：{grade}", fields={"grade": "one of " + ", ".join(GRADES)})
    text = comment.strip()
    if len(text) > COMMENT_MAX:
        raise InvalidInput(
            f"意见不超过{COMMENT_MAX}字", fields={"comment": f"at most {COMMENT_MAX} characters"}
        )
    if channel not in CHANNELS:
        raise InvalidInput(f"未知的评价渠道：{channel}", fields={"channel": "query or terminal"})
    current = await status(session, case, now=now, days=days)
    stage = f"当前状态为 {case.state}（{states.label(case.state)}）"
    if current.state == "not_open":
        raise Conflict(f"{stage}，尚未答复，不能评价")
    if current.state == "evaluated":
        raise Conflict(f"{stage}，该答复已评价")
    if current.state == "expired":
        raise Conflict(f"{stage}，评价期限已于 {current.deadline} 届满")
    response = await _response(session, case.id)
    assert response is not None  # noqa: S101 - status was open
    row_id = await _insert_row(
        session,
        case_id=case.id,
        response_seq=response.seq,
        state="evaluated",
        grade=grade,
        comment=text,
        channel=channel,
        at=now,
    )
    if row_id is None:  # graded or expired by a concurrent request since the check above
        raise Conflict(TAKEN)
    row = await session.get_one(Evaluation, row_id)
    # The comment may name people: it stays in the row, the public timeline shows the grade.
    await append_event(
        session,
        case_id=case.id,
        kind=EVALUATED,
        at=now,
        actor_id=actor_id,
        visibility=Visibility.PUBLIC,
        data={"grade": grade, "response_seq": response.seq, "channel": channel},
    )
    return row


@dataclass(frozen=True, slots=True)
class PendingEvaluation:
    """A case the terminal registered whose response awaits the petitioner's grade (待评价)."""

    case_id: int
    number: str
    summary: str
    petitioner: str  # masked: the list is on a shared village screen
    line: str
    outcome: str
    deadline: date


def _terminal_of(who: Principal) -> int:
    if who.role != Role.TERMINAL or who.terminal_id is None:
        raise Forbidden("只有村信息中心终端可以代为评价")
    return who.terminal_id


async def pending_for_terminal(
    session: AsyncSession, who: Principal, *, now: datetime, days: int
) -> list[PendingEvaluation]:
    """The cases registered at the caller's terminal with an evaluation open now, oldest first."""
    terminal_id = _terminal_of(who)
    rows = await session.execute(
        select(Case, Line.name, Petitioner.name)
        .join(User, User.id == Case.registered_by)
        .join(Line, Line.id == Case.line_id)
        .join(Petitioner, Petitioner.id == Case.petitioner_id)
        .where(User.terminal_id == terminal_id, Case.state.in_(ANSWERED))
        .order_by(Case.id)
    )
    pending = []
    for case, line, name in rows.all():
        current = await status(session, case, now=now, days=days)
        if current.state != "open" or current.deadline is None:
            continue
        outcome = states.OUTCOME_LABELS.get(CaseOutcome(case.outcome)) if case.outcome else ""
        pending.append(
            PendingEvaluation(
                case_id=case.id,
                number=case.number,
                summary=case.summary,
                petitioner=mask_name(name),
                line=line,
                outcome=outcome or "",
                deadline=current.deadline,
            )
        )
    return pending


async def terminal_case(session: AsyncSession, who: Principal, case_id: int) -> Case:
    """The case, if it was registered at the caller's terminal; `not_found` / `forbidden`."""
    terminal_id = _terminal_of(who)
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"信访事项 {case_id} 不存在")
    registrar = await session.get(User, case.registered_by) if case.registered_by else None
    if registrar is None or registrar.terminal_id != terminal_id:
        raise Forbidden("该信访事项不是本终端登记的，不能代为评价")
    return case
