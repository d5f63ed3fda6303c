"""The case lifecycle (信访事项状态机, DESIGN §6) as data: which state may follow which, the guard
of each step, the timeline event it writes and the legal deadlines it attaches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Department, Role
from hall.accounts.users import Principal
from hall.calendar.deadlines import Due, Rule, due_date
from hall.calendar.workdays import load_calendar
from hall.cases import accusations, cases, legal_channels
from hall.cases.tables import Case, CaseEvent, CaseOutcome, CaseState, Classification, Visibility
from hall.cases.timeline import append_event
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound
from hall.settings import HALL_TZ, ExtendOver

S = CaseState
EVENT_KIND = "state_changed"
REASON_MIN = 2
REASON_MAX = 500
CLAIM_TYPES = range(1, 7)  # 申诉求决 (1)–(6), 信访工作条例 Art. 31

STATE_LABELS: Mapping[CaseState, str] = MappingProxyType(
    {
        S.REGISTERED: "已登记",
        S.TRIAGED: "已分流",
        S.TRANSFERRED: "已转送有权处理机关",
        S.ASSIGNED: "已交办责任单位",
        S.REDIRECTED: "已导入法定程序",
        S.NOT_ACCEPTED: "不予受理",
        S.ACCEPTED: "已受理",
        S.IN_PROGRESS: "办理中",
        S.RESPONDED: "已答复",
        S.REVIEW_REQUESTED: "已申请复查",
        S.REVIEWED: "已复查",
        S.REREVIEW_REQUESTED: "已申请复核",
        S.REREVIEWED: "已复核",
        S.FINAL: "已终结（不再受理）",
        S.CLOSED: "已办结",
        S.MERGED: "已合并",
        S.WITHDRAWN: "已撤回",
    }
)
OUTCOME_LABELS: Mapping[CaseOutcome, str] = MappingProxyType(
    {
        CaseOutcome.SUPPORT: "支持",
        CaseOutcome.EXPLAIN: "解释说明",
        CaseOutcome.REJECT: "不支持",
        CaseOutcome.LEGAL_CHANNEL: "导入法定程序",
        CaseOutcome.NOT_ACCEPTED: "不予受理",
    }
)
CLASSIFICATION_LABELS: Mapping[Classification, str] = MappingProxyType(
    {
        Classification.SUGGESTION: "建议意见",
        Classification.ACCUSATION: "检举控告",
        Classification.CLAIM: "申诉求决",
    }
)

RULE_LABELS: Mapping[Rule, str] = MappingProxyType(
    {
        Rule.ACCEPT: "受理告知期限",
        Rule.OBJECT: "异议期限",
        Rule.HANDLE: "办理期限",
        Rule.EXTENSION: "延长后的办理期限",
        Rule.GENERAL_REPLY: "答复承诺期限",
        Rule.REVIEW_REQUEST: "申请复查期限",
        Rule.REVIEW_DECISION: "复查期限",
        Rule.REREVIEW_REQUEST: "申请复核期限",
        Rule.REREVIEW_DECISION: "复核期限",
    }
)

# Withdrawal (撤回) is the petitioner's right until the matter is answered or a review decided.
_WITHDRAWABLE = (S.WITHDRAWN,)
TRANSITIONS: Mapping[CaseState, frozenset[CaseState]] = MappingProxyType(
    {
        S.REGISTERED: frozenset({S.TRIAGED, S.MERGED, *_WITHDRAWABLE}),
        S.TRIAGED: frozenset(
            {
                S.TRANSFERRED,
                S.ASSIGNED,
                S.REDIRECTED,
                S.NOT_ACCEPTED,
                S.ACCEPTED,
                S.MERGED,
                *_WITHDRAWABLE,
            }
        ),
        # The receiving unit accepts, or objects (Art. 23) and the matter is routed again.
        S.TRANSFERRED: frozenset({S.ACCEPTED, S.TRIAGED, *_WITHDRAWABLE}),
        S.ASSIGNED: frozenset({S.ACCEPTED, S.TRIAGED, *_WITHDRAWABLE}),
        S.REDIRECTED: frozenset({S.CLOSED}),
        S.NOT_ACCEPTED: frozenset({S.CLOSED}),
        S.ACCEPTED: frozenset({S.IN_PROGRESS, S.MERGED, *_WITHDRAWABLE}),
        # in_progress → in_progress is the one extension (延期) of Art. 34.
        S.IN_PROGRESS: frozenset({S.IN_PROGRESS, S.RESPONDED, *_WITHDRAWABLE}),
        S.RESPONDED: frozenset({S.REVIEW_REQUESTED, S.CLOSED}),
        S.REVIEW_REQUESTED: frozenset({S.REVIEWED, *_WITHDRAWABLE}),
        S.REVIEWED: frozenset({S.REREVIEW_REQUESTED, S.CLOSED}),
        S.REREVIEW_REQUESTED: frozenset({S.REREVIEWED, *_WITHDRAWABLE}),
        S.REREVIEWED: frozenset({S.FINAL}),
        S.FINAL: frozenset(),
        S.CLOSED: frozenset(),
        S.MERGED: frozenset(),
        S.WITHDRAWN: frozenset(),
    }
)

# Steps the petitioner is told about are public; internal routing steps are staff-only.
STAFF_STEPS = frozenset({S.TRIAGED, S.IN_PROGRESS})

# The limits that start running when a case enters a state (from the day after the event).
DUE_ON_ENTRY: Mapping[CaseState, tuple[Rule, ...]] = MappingProxyType(
    {
        S.ACCEPTED: (Rule.HANDLE,),
        S.TRANSFERRED: (Rule.OBJECT,),
        S.ASSIGNED: (Rule.OBJECT,),
        S.RESPONDED: (Rule.REVIEW_REQUEST,),
        S.REVIEW_REQUESTED: (Rule.REVIEW_DECISION,),
        S.REVIEWED: (Rule.REREVIEW_REQUEST,),
        S.REREVIEW_REQUESTED: (Rule.REREVIEW_DECISION,),
    }
)

# The outcome each state sets by itself, and the states that take one from the caller.
IMPLIED_OUTCOME: Mapping[CaseState, CaseOutcome] = MappingProxyType(
    {S.NOT_ACCEPTED: CaseOutcome.NOT_ACCEPTED, S.REDIRECTED: CaseOutcome.LEGAL_CHANNEL}
)
DECIDED_OUTCOMES = frozenset({CaseOutcome.SUPPORT, CaseOutcome.EXPLAIN, CaseOutcome.REJECT})
OUTCOME_REQUIRED = frozenset({S.RESPONDED})
OUTCOME_ALLOWED = frozenset({S.RESPONDED, S.REVIEWED, S.REREVIEWED})
TRANSITION_ROLES = frozenset({Role.OFFICER, Role.LEADER, Role.SUPERVISOR, Role.ADMIN})
# Transfer (转送) and assignment (交办) name the responsible department (责任单位).
TO_DEPARTMENT = frozenset({S.TRANSFERRED, S.ASSIGNED})


@dataclass(frozen=True, slots=True)
class Change:
    """What the caller asks for besides the target state (all optional, checked by the guards)."""

    outcome: str | None = None
    classification: str | None = None
    claim_type: int | None = None
    extension_days: int | None = None
    department: str | None = None  # a department code, for transferred / assigned
    legal_channel: str | None = None  # LegalChannel, for not_accepted / redirected
    legal_channel_note: str | None = None  # names the channel when it is `other`
    accused_department: str | None = None  # 检举控告: the accused department's code ...
    accused_name: str | None = None  # ... or the accused unit's name
    merged_into: int | None = None  # the case absorbing this one, for merged (hall.cases.links)
    accused_override: str | None = None  # a supervisor's reason to pass a 检举控告 to its unit
    undo: str | None = None  # "split": the merge that undoes a split (hall.cases.links)


@dataclass(frozen=True, slots=True)
class Transitioned:
    """The case after a transition, the event written and the due dates attached."""

    case: Case
    event: CaseEvent
    due: dict[str, Due]


def label(state: str) -> str:
    """The Chinese name of a state (the raw value for an unknown one)."""
    try:
        return STATE_LABELS[CaseState(state)]
    except ValueError:
        return state


def may_transition(who: Principal, case: Case) -> bool:
    """Officers of the case's line, leaders, supervisors and administrators change states."""
    if who.role not in TRANSITION_ROLES:
        return False
    return who.role != Role.OFFICER or case.line_id in who.line_ids


def handled_by(who: Principal, case: Case) -> bool:
    """True when `who` is an account of the department currently handling the case."""
    return (
        who.role == Role.DEPARTMENT
        and who.department_id is not None
        and case.department_id == who.department_id
    )


async def _case_for(
    session: AsyncSession, who: Principal, case_id: int, *, department_step: bool = False
) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"信访事项 {case_id} 不存在")
    allowed = handled_by(who, case) if department_step else may_transition(who, case)
    if not allowed:
        raise Forbidden("无权变更该信访事项的状态")
    return case


async def _department(session: AsyncSession, to: CaseState, change: Change) -> Department | None:
    """The department a transfer or assignment names (required there, refused elsewhere)."""
    if to not in TO_DEPARTMENT:
        if change.department is not None:
            raise InvalidInput(
                f"变更为“{label(to)}”时不能指定责任单位", fields={"department": f"not for {to}"}
            )
        return None
    if not change.department:
        raise InvalidInput(
            "转送、交办须指定责任单位", fields={"department": "required: a department code"}
        )
    department = await session.scalar(
        select(Department).where(Department.code == change.department)
    )
    if department is None:
        raise InvalidInput(
            f"未知的责任单位：{change.department}", fields={"department": "unknown department"}
        )
    if not department.active:
        # 停用: it keeps the cases it has, but receives no new one.
        raise InvalidInput(
            f"责任单位 {department.name} 已停用，不能再转送、交办",
            fields={"department": "inactive department"},
        )
    return department


async def _state_events(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    return list(
        await session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.kind == EVENT_KIND)
            .order_by(CaseEvent.seq)
        )
    )


def _extended(events: list[CaseEvent]) -> bool:
    return any(e.data.get("extension") for e in events)


async def allowed_next(session: AsyncSession, who: Principal, case_id: int) -> list[CaseState]:
    """The states the caller may move the case to now (in table order); `forbidden` outside."""
    case = await _case_for(session, who, case_id)
    return _allowed(case, await _state_events(session, case.id))


def _allowed(case: Case, events: list[CaseEvent]) -> list[CaseState]:
    current = CaseState(case.state)
    targets = TRANSITIONS[current]
    return [
        s
        for s in CaseState
        if s in targets and not (s is current and (_extended(events) or s is not S.IN_PROGRESS))
    ]


def check_reason(reason: str) -> str:
    """The trimmed reason of a step; `invalid_input` outside 2–500 characters."""
    return _check_reason(reason)


def is_open(state: str) -> bool:
    """True while the case can still change (not closed, final, merged or withdrawn)."""
    return bool(TRANSITIONS[CaseState(state)])


async def _merge_target(
    session: AsyncSession,
    who: Principal,
    case: Case,
    to: CaseState,
    change: Change,
    accused: accusations.Accused | None,
    guard: accusations.Guard,
) -> Case | None:
    """The case a merge goes into (required for `merged`, refused for any other step).

    `forbidden` unless the caller may change it too (so a merge across lines needs a caller
    of both); `accused_unit` when the case, or a case merged into it, is a 检举控告 against the
    department handling it; `conflict` when it has ended, is merged, or is (through merges)
    part of `case` itself.
    """
    if to is not S.MERGED:
        if change.merged_into is not None:
            raise InvalidInput(
                f"变更为“{label(to)}”时不能指定并入的事项", fields={"merged_into": f"not for {to}"}
            )
        return None
    if change.merged_into is None:
        raise InvalidInput(
            "合并须指定并入的事项（使用合并操作）",
            fields={"merged_into": "required: POST /api/cases/{case_id}/merge"},
        )
    if change.merged_into == case.id:
        raise Conflict(f"不能将事项 {case.number} 并入其自身")
    target = await session.get(Case, change.merged_into)
    if target is None:
        raise NotFound(f"信访事项 {change.merged_into} 不存在")
    if not may_transition(who, target):
        raise Forbidden("无权变更被并入的信访事项")
    if not is_open(target.state):
        raise Conflict(
            f"目标事项 {target.number} 当前状态为 {target.state}（{label(target.state)}），不能并入"
        )
    seen = {target.id}
    parent_id = target.merged_into_id
    while parent_id is not None and parent_id not in seen:
        if parent_id == case.id:
            raise Conflict(f"目标事项 {target.number} 已并入本事项，不能互相合并")
        seen.add(parent_id)
        parent_id = await session.scalar(select(Case.merged_into_id).where(Case.id == parent_id))
    if target.department_id is not None:
        # The case would be read by the department handling the target (DESIGN §6).
        receiver = await session.get_one(Department, target.department_id)
        step = "并入被检举控告单位办理的事项"
        guard.check(accused, receiver, step=step)
        await check_held(session, guard, case.id, receiver, step=step)
    return target


async def check_held(
    session: AsyncSession,
    guard: accusations.Guard,
    case_id: int,
    receiver: Department,
    *,
    step: str,
) -> None:
    """The 检举控告 rule for the cases merged into `case_id` (at any depth), which `receiver`
    would hold with it."""
    for merged in await cases.merged_into_case(session, case_id):
        guard.check(await accusations.current(session, merged), receiver, step=step)


def _check_reason(reason: str) -> str:
    text = reason.strip()
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise InvalidInput(
            f"请填写理由（{REASON_MIN}–{REASON_MAX}字）",
            fields={"reason": f"{REASON_MIN} to {REASON_MAX} characters"},
        )
    return text


def _classification(case: Case, to: CaseState, change: Change) -> tuple[str | None, int | None]:
    """The case's classification and claim type after the step (guards of Art. 31)."""
    kind, claim_type = case.classification, case.claim_type
    if change.classification is not None:
        try:
            kind = Classification(change.classification)
        except ValueError:
            choices = ", ".join(c.value for c in Classification)
            raise InvalidInput(
                f"未知的分类：{change.classification}",
                fields={"classification": f"one of {choices}"},
            ) from None
        claim_type = change.claim_type
    elif change.claim_type is not None:
        raise InvalidInput(
            "申诉求决类的子类须与分类一同提交", fields={"claim_type": "only with classification"}
        )
    if kind == Classification.CLAIM and claim_type not in CLAIM_TYPES:
        raise InvalidInput(
            "申诉求决类须选择子类（1–6）", fields={"claim_type": "1 to 6 for a claim"}
        )
    if kind is not None and kind != Classification.CLAIM and claim_type is not None:
        raise InvalidInput(
            "只有申诉求决类有子类", fields={"claim_type": "only for classification claim"}
        )
    if to is S.ACCEPTED and kind is None:
        raise InvalidInput(
            "受理前须依法分类（建议意见、检举控告、申诉求决）",
            fields={"classification": "required to accept"},
        )
    return kind, claim_type


def _outcome(case: Case, to: CaseState, change: Change) -> str | None:
    if to in IMPLIED_OUTCOME:
        if change.outcome is not None and change.outcome != IMPLIED_OUTCOME[to]:
            raise InvalidInput(
                f"“{label(to)}”的处理结果只能是{OUTCOME_LABELS[IMPLIED_OUTCOME[to]]}",
                fields={"outcome": f"implied by {to}"},
            )
        return IMPLIED_OUTCOME[to]
    if change.outcome is None:
        if to in OUTCOME_REQUIRED:
            raise InvalidInput(
                "答复须给出处理结果（支持、解释说明、不支持）",
                fields={"outcome": "required: support, explain or reject"},
            )
        return case.outcome
    if to not in OUTCOME_ALLOWED:
        raise InvalidInput(
            f"变更为“{label(to)}”时不能给出处理结果", fields={"outcome": f"not for {to}"}
        )
    if change.outcome not in {o.value for o in DECIDED_OUTCOMES}:
        raise InvalidInput(
            f"未知或不适用的处理结果：{change.outcome}",
            fields={"outcome": "one of support, explain, reject"},
        )
    return change.outcome


def _handle_due_day(events: list[CaseEvent]) -> str | None:
    for event in reversed(events):
        handle = event.data.get("due", {}).get(Rule.HANDLE.value)
        if handle:
            return str(handle["date"])
    return None


def due_json(due: Due) -> dict[str, Any]:
    """A due date as stored in the event: the day and the rule that produced it."""
    return {"date": due.day.isoformat(), "rule": due.text}


async def transition(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    to_state: str,
    *,
    reason: str,
    now: datetime,
    change: Change | None = None,
    extend_over: ExtendOver = ExtendOver.HOLIDAYS_AND_WEEKENDS,
    department_step: bool = False,
) -> Transitioned:
    """Move the case to `to_state` inside the caller's transaction and record `state_changed`.

    `not_found` / `forbidden` for the case; `conflict` naming the current state for a step the
    table does not allow (or a second extension); `invalid_input` for a failed guard (reason,
    outcome, classification, extension days, legal channel, accused unit); `accused_unit` when
    a 检举控告 would reach the unit it accuses (when the step routes the case, merges it, or
    names the accused unit while a department handles it), unless a supervisor overrides it
    (`change.accused_override`; `forbidden` for anyone else); `calendar_unknown` when a deadline
    the step attaches cannot be computed — the state is then unchanged, never left without its
    deadline.
    `department_step` is for `hall.cases.departments`: the handling department's account acts, and
    that module checks which steps it may take.
    """
    change = change or Change()
    case = await _case_for(session, who, case_id, department_step=department_step)
    guard = accusations.Guard(who, change.accused_override)
    try:
        to = CaseState(to_state)
    except ValueError:
        raise InvalidInput(
            f"未知的状态：{to_state}", fields={"to": "one of the case states"}
        ) from None
    current = CaseState(case.state)
    events = await _state_events(session, case.id)
    if to not in _allowed(case, events):
        more = "，且已延期一次" if to is current and to is S.IN_PROGRESS else ""
        raise Conflict(f"当前状态为 {current}（{label(current)}）{more}，不能变更为 {to}")
    text = _check_reason(reason)
    kind, claim_type = _classification(case, to, change)
    outcome = _outcome(case, to, change)
    department = await _department(session, to, change)
    channel = legal_channels.parse(to, change.legal_channel, change.legal_channel_note)
    accused, accused_changed = await accusations.after_step(
        session,
        case,
        kind,
        department_code=change.accused_department,
        name=change.accused_name,
        classifying=change.classification is not None,
    )
    if department is not None:  # routed to a unit: nor may a 检举控告 merged into this case go
        guard.check(accused, department)
        await check_held(session, guard, case.id, department, step="转送、交办并入本事项的检举控告")
    elif accused_changed and case.department_id is not None and to is not S.TRIAGED:
        # Named as accused while it handles the case (a case routed again leaves its unit).
        guard.check(accused, await session.get_one(Department, case.department_id))
    target = await _merge_target(session, who, case, to, change, accused, guard)
    if change.extension_days is not None and to is not current:
        raise InvalidInput("只有延期可以给出延期天数", fields={"extension_days": "only to extend"})
    calendar = await load_calendar(session)
    start = now.astimezone(HALL_TZ).date()
    dues: dict[str, Due] = {}
    if to is current:  # the extension: from the last day of the handling period
        last = _handle_due_day(events)
        if last is None:
            raise Conflict(f"当前状态为 {current}，没有办理期限，不能延期")
        extension = due_date(
            Rule.EXTENSION,
            date.fromisoformat(last),
            calendar,
            extend_over=extend_over,
            days=change.extension_days,
        )
        dues[Rule.EXTENSION.value] = extension
    for rule in DUE_ON_ENTRY.get(to, ()):
        dues[rule.value] = due_date(rule, start, calendar, extend_over=extend_over)
    data: dict[str, Any] = {"from": current.value, "to": to.value, "reason": text}
    if to is current:
        data["extension"] = True
    if outcome != case.outcome:
        data["outcome"] = outcome
    if (kind, claim_type) != (case.classification, case.claim_type):
        data["classification"] = kind
        data["claim_type"] = claim_type
    if department is not None:
        data["department"] = {"code": department.code, "name": department.name}
    if channel is not None:
        data["legal_channel"] = channel.as_json()
    if target is not None:
        data["into"] = {"id": target.id, "number": target.number}
    if change.undo is not None:
        data["undo"] = change.undo
    if dues:
        data["due"] = {name: due_json(due) for name, due in dues.items()}
    public = to not in STAFF_STEPS or to is current  # an extension is told to the petitioner
    event = await append_event(
        session,
        case_id=case.id,
        kind=EVENT_KIND,
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.PUBLIC if public else Visibility.STAFF,
        data=data,
    )
    case.state = to
    case.outcome = outcome
    case.classification = kind
    case.claim_type = claim_type
    if channel is not None:
        case.legal_channel = channel.channel
        case.legal_channel_note = channel.note
    if accused_changed:
        await accusations.record(session, case, accused, actor_id=who.user_id, reason=text, at=now)
    await guard.record(session, case.id, at=now)
    if target is not None:
        case.merged_into_id = target.id
    if department is not None:
        case.department_id = department.id
    elif to is S.TRIAGED:
        case.department_id = None  # routed again: no department handles it any more
    await session.flush()
    return Transitioned(case=case, event=event, due=dues)
