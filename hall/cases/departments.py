"""Responsible departments (责任单位): receipt (签收), objection within 5 working days (异议),
reply (答复); the bureau's supervision (督办) with a feedback deadline; leader ownership (包案).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Department, Role
from hall.accounts.users import Principal
from hall.calendar.deadlines import Rule
from hall.cases import states
from hall.cases.states import Change, Transitioned, handled_by, label
from hall.cases.tables import Case, CaseEvent, CaseState, Classification, Supervision, Visibility
from hall.cases.timeline import append_event
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound
from hall.settings import HALL_TZ, ExtendOver

S = CaseState
ACKNOWLEDGED = "department_acknowledged"
OBJECTED = "department_objected"
SUPERVISION_OPENED = "supervision_opened"
SUPERVISION_FEEDBACK = "supervision_feedback"
LEADER_OWNED = "leader_owned"
SUPERVISE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
TEXT_MIN = 2
TEXT_MAX = 2000


@dataclass(frozen=True, slots=True)
class DepartmentStatus:
    """What the department panel of a case shows."""

    department: Department | None
    acknowledged: bool
    object_due: date | None
    may_object: bool
    open_supervision: Supervision | None
    overlays: list[str]


def _text(value: str, field: str, what: str) -> str:
    text = value.strip()
    if not TEXT_MIN <= len(text) <= TEXT_MAX:
        raise InvalidInput(
            f"请填写{what}（{TEXT_MIN}–{TEXT_MAX}字）",
            fields={field: f"{TEXT_MIN} to {TEXT_MAX} characters"},
        )
    return text


def _today(now: datetime) -> date:
    return now.astimezone(HALL_TZ).date()


async def list_departments(session: AsyncSession) -> list[Department]:
    """Every active department (the ones a case may be routed to), by code."""
    return list(
        await session.scalars(
            select(Department).where(Department.active.is_(True)).order_by(Department.code)
        )
    )


async def _case(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"信访事项 {case_id} 不存在")
    return case


async def _own_case(session: AsyncSession, who: Principal, case_id: int) -> Case:
    case = await _case(session, case_id)
    if not handled_by(who, case):
        raise Forbidden("该信访事项不由本单位办理")
    return case


async def _events(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    return list(
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
        )
    )


def _routing(events: list[CaseEvent]) -> CaseEvent | None:
    """The latest transfer or assignment (转送/交办) step."""
    for event in reversed(events):
        if event.kind == states.EVENT_KIND and event.data.get("to") in states.TO_DEPARTMENT:
            return event
    return None


def _acknowledged(events: list[CaseEvent]) -> bool:
    routing = _routing(events)
    return routing is not None and any(
        e.kind == ACKNOWLEDGED and e.seq > routing.seq for e in events
    )


def _object_due(events: list[CaseEvent]) -> date | None:
    routing = _routing(events)
    if routing is None:
        return None
    due = routing.data.get("due", {}).get(Rule.OBJECT.value)
    return date.fromisoformat(str(due["date"])) if due else None


def _require_routed(case: Case) -> None:
    if CaseState(case.state) not in states.TO_DEPARTMENT:
        raise Conflict(
            f"当前状态为 {case.state}（{label(case.state)}），不是待签收的转送或交办事项"
        )


async def acknowledge(
    session: AsyncSession, who: Principal, case_id: int, *, now: datetime
) -> CaseEvent:
    """签收: the handling department confirms receipt; `conflict` if not routed or done twice."""
    case = await _own_case(session, who, case_id)
    _require_routed(case)
    if _acknowledged(await _events(session, case.id)):
        raise Conflict(f"当前状态为 {case.state}，本单位已签收")
    department = await session.get_one(Department, case.department_id)
    return await append_event(
        session,
        case_id=case.id,
        kind=ACKNOWLEDGED,
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.PUBLIC,
        data={"department": department.name},
    )


async def object_to(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    *,
    ground: str,
    now: datetime,
    extend_over: ExtendOver = ExtendOver.HOLIDAYS_AND_WEEKENDS,
) -> Transitioned:
    """异议 (Art. 23): within the 5-working-day period the department sends the case back to
    `triaged` with its ground; `conflict` after the period's last day (hall time)."""
    case = await _own_case(session, who, case_id)
    _require_routed(case)
    text = _text(ground, "ground", "异议理由")
    last = _object_due(await _events(session, case.id))
    if last is None or _today(now) > last:
        raise Conflict(f"当前状态为 {case.state}，异议期限已于 {last} 届满，不能再提出异议")
    department = await session.get_one(Department, case.department_id)
    await append_event(
        session,
        case_id=case.id,
        kind=OBJECTED,
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={"department": department.name, "ground": text},
    )
    done = await states.transition(
        session,
        who,
        case.id,
        S.TRIAGED,
        reason=f"{department.name}异议：{text}",
        now=now,
        extend_over=extend_over,
        department_step=True,
    )
    case.department_id = None
    await session.flush()
    return done


def _check_classification(case: Case, change: Change | None) -> None:
    """A department's reply may classify an unclassified case, never as an accusation."""
    if change is None or (change.classification is None and change.claim_type is None):
        return
    if case.classification is not None:
        raise Conflict(
            f"该事项已由信访部门分类为 {case.classification}，责任单位不能更改分类",
            fields={"classification": "already classified by the bureau"},
        )
    if change.classification == Classification.ACCUSATION:
        raise InvalidInput(
            "责任单位不能将事项分类为检举控告",
            fields={"classification": "检举控告由信访部门分类并记录被检举控告单位"},
        )


async def reply(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    *,
    outcome: str,
    text: str,
    now: datetime,
    change: Change | None = None,
    extend_over: ExtendOver = ExtendOver.HOLIDAYS_AND_WEEKENDS,
) -> Transitioned:
    """答复: the department answers; the case walks accepted → in_progress → responded as needed.

    A transferred or assigned case must be acknowledged first; `change` may classify it
    (required to accept when the bureau has not classified it). A classification the bureau
    made is not the department's to change (`conflict`), and a department never classifies a
    matter as 检举控告 (`invalid_input`): that is the bureau's call, with the accused unit.
    """
    case = await _own_case(session, who, case_id)
    _check_classification(case, change)
    body = _text(text, "text", "答复内容")
    state = CaseState(case.state)
    steps: list[tuple[CaseState, str, Change]] = []
    if state in states.TO_DEPARTMENT:
        if not _acknowledged(await _events(session, case.id)):
            raise Conflict(f"当前状态为 {state}（{label(state)}），请先签收")
        steps.append((S.ACCEPTED, "责任单位受理", change or Change()))
        state = S.ACCEPTED
    if state is S.ACCEPTED:
        steps.append((S.IN_PROGRESS, "责任单位办理", Change()))
        state = S.IN_PROGRESS
    if state is not S.IN_PROGRESS:
        raise Conflict(f"当前状态为 {case.state}（{label(case.state)}），不能答复")
    steps.append((S.RESPONDED, body, Change(outcome=outcome)))
    done: Transitioned | None = None
    for to, reason, step in steps:
        done = await states.transition(
            session,
            who,
            case.id,
            to,
            reason=reason,
            now=now,
            change=step,
            extend_over=extend_over,
            department_step=True,
        )
    assert done is not None  # noqa: S101 - the responded step is always there
    return done


async def _open_supervision(session: AsyncSession, case_id: int) -> Supervision | None:
    return await session.scalar(
        select(Supervision)
        .where(Supervision.case_id == case_id, Supervision.feedback_at.is_(None))
        .order_by(Supervision.id.desc())
    )


async def open_supervision(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    *,
    reason: str,
    feedback_due: date,
    now: datetime,
) -> Supervision:
    """督办: a supervisor asks the handling department for feedback by `feedback_due`."""
    if who.role not in SUPERVISE_ROLES:
        raise Forbidden("只有督查人员和管理员可以督办")
    case = await _case(session, case_id)
    if case.department_id is None:
        raise Conflict(f"当前状态为 {case.state}，尚未转送或交办责任单位，不能督办")
    if await _open_supervision(session, case.id) is not None:
        raise Conflict(f"当前状态为 {case.state}，已有未反馈的督办")
    text = _text(reason, "reason", "督办事由")
    if feedback_due <= _today(now):
        raise InvalidInput("反馈期限须晚于今天", fields={"feedback_due": "a day after today"})
    supervision = Supervision(
        case_id=case.id,
        department_id=case.department_id,
        opened_by=who.user_id,
        opened_at=now,
        reason=text,
        feedback_due=feedback_due,
    )
    session.add(supervision)
    await session.flush()
    await append_event(
        session,
        case_id=case.id,
        kind=SUPERVISION_OPENED,
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={"supervision_id": supervision.id, "feedback_due": feedback_due.isoformat()},
    )
    return supervision


async def record_feedback(
    session: AsyncSession, who: Principal, supervision_id: int, *, text: str, now: datetime
) -> Supervision:
    """The supervised department's feedback (督办反馈), once; `late` if after the deadline."""
    supervision = await session.get(Supervision, supervision_id)
    if supervision is None:
        raise NotFound(f"督办 {supervision_id} 不存在")
    if who.role != Role.DEPARTMENT or who.department_id != supervision.department_id:
        raise Forbidden("该督办不是发给本单位的")
    if supervision.feedback_at is not None:
        raise Conflict("该督办已反馈")
    supervision.feedback = _text(text, "feedback", "反馈内容")
    supervision.feedback_at = now
    supervision.feedback_by = who.user_id
    await append_event(
        session,
        case_id=supervision.case_id,
        kind=SUPERVISION_FEEDBACK,
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={"supervision_id": supervision.id, "late": _today(now) > supervision.feedback_due},
    )
    return supervision


async def own_case(session: AsyncSession, who: Principal, case_id: int, *, now: datetime) -> Case:
    """包案: a leader takes ownership of the case; `conflict` if a leader already owns it."""
    if who.role != Role.LEADER:
        raise Forbidden("只有领导可以包案")
    case = await _case(session, case_id)
    if case.leader_id is not None:
        raise Conflict(f"当前状态为 {case.state}，该事项已由领导包案")
    case.leader_id = who.user_id
    await append_event(
        session,
        case_id=case.id,
        kind=LEADER_OWNED,
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.PUBLIC,
        data={"leader": who.display_name},
    )
    return case


async def overlays(session: AsyncSession, case: Case) -> list[str]:
    """The case's department-related overlays: `supervised` (open 督办), `leader_owned` (包案)."""
    flags = []
    if await _open_supervision(session, case.id) is not None:
        flags.append("supervised")
    if case.leader_id is not None:
        flags.append("leader_owned")
    return flags


async def status(session: AsyncSession, case_id: int, *, now: datetime) -> DepartmentStatus:
    """The department panel: handling unit, receipt, objection period, supervision, overlays."""
    case = await _case(session, case_id)
    events = await _events(session, case.id)
    routed = CaseState(case.state) in states.TO_DEPARTMENT
    due = _object_due(events) if routed else None
    return DepartmentStatus(
        department=await session.get(Department, case.department_id)
        if case.department_id
        else None,
        acknowledged=routed and _acknowledged(events),
        object_due=due,
        may_object=due is not None and _today(now) <= due,
        open_supervision=await _open_supervision(session, case.id),
        overlays=await overlays(session, case),
    )
