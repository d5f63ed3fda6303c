"""Written notices of a case (告知书) and their delivery (送达): the facts each notice states,
taken from the timeline only, and one recorded delivery per hand-over, post, SMS or terminal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role, User
from hall.accounts.users import Principal
from hall.cases import states as case_states
from hall.cases.states import OUTCOME_LABELS
from hall.cases.tables import (
    Case,
    CaseEvent,
    CaseOutcome,
    CaseState,
    NoticeDelivery,
    Petitioner,
    Visibility,
)
from hall.cases.timeline import append_event
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound
from hall.queue.tables import Line
from hall.settings import HALL_TZ

EVENT_KIND = "notice_delivered"
READ_ROLES = (Role.OFFICER, Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN)


class NoticeKind(StrEnum):
    """A written notice to the petitioner."""

    ACCEPTANCE = "acceptance"  # 受理告知书
    NOT_ACCEPTED = "not_accepted"  # 不予受理告知书
    EXTENSION = "extension"  # 延期办理告知书
    DECISION = "decision"  # 处理意见书


class DeliveryMethod(StrEnum):
    """How a notice reached the petitioner (送达方式)."""

    IN_PERSON = "当面"
    POST = "邮寄"
    SMS = "短信"
    TERMINAL = "终端"


NOTICE_TITLES = {
    NoticeKind.ACCEPTANCE: "信访事项受理告知书",
    NoticeKind.NOT_ACCEPTED: "信访事项不予受理告知书",
    NoticeKind.EXTENSION: "信访事项延期办理告知书",
    NoticeKind.DECISION: "信访事项处理意见书",
}

# What the notice advises after naming the legal channel (法定途径), by the step's state.
ADVICE = {
    CaseState.REDIRECTED: (
        "本事项属于应当通过上述法定途径解决的事项，请依照有关法律、行政法规规定的程序向有关机关提出。"
    ),
    CaseState.NOT_ACCEPTED: (
        "本事项不属于本机关受理范围，请通过上述途径，依照有关法律、行政法规规定的程序向有关机关提出。"
    ),
}
# The fixed wording of a case refused before the channel was typed (no `legal_channel` stored).
CHANNELS = {
    CaseState.REDIRECTED: (
        "本事项属于应当通过诉讼、仲裁、行政复议等法定途径解决的事项，请依照有关法律、"
        "行政法规规定的程序向有关机关提出。"
    ),
    CaseState.NOT_ACCEPTED: (
        "本事项不属于本机关受理范围，请向有权处理的机关提出，或依照有关法律、行政法规"
        "规定的程序向有关机关提出。"
    ),
}


@dataclass(frozen=True, slots=True)
class Notice:
    """What a printed notice says: addressed to the petitioner, so no identity number, phone,
    internal note or staff-only step. `facts` holds the kind's own items (dates as ISO text)."""

    kind: NoticeKind
    title: str
    number: str
    query_code: str
    petitioner: str
    summary: str
    received: date
    unit: str
    issued: date
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One recorded delivery of a notice."""

    id: int
    kind: str
    delivered_at: datetime
    method: str
    by: str


def parse_kind(kind: str) -> NoticeKind:
    """The notice kind named in a path; `not_found` for another word."""
    try:
        return NoticeKind(kind)
    except ValueError:
        raise NotFound(f"没有“{kind}”这种告知书") from None


async def readable_case(session: AsyncSession, who: Principal, case_id: int) -> Case:
    """The case, for staff who may read its notices; `not_found` / `forbidden`."""
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"信访事项 {case_id} 不存在")
    if who.role not in READ_ROLES or (
        who.role == Role.OFFICER and case.line_id not in who.line_ids
    ):
        raise Forbidden("无权查看该信访事项的告知书")
    return case


def _step(events: list[CaseEvent], *targets: CaseState, extension: bool = False) -> CaseEvent:
    for event in reversed(events):
        if event.kind != case_states.EVENT_KIND:
            continue
        if extension and event.data.get("extension"):
            return event
        if not extension and event.data.get("to") in targets and not event.data.get("extension"):
            return event
    raise LookupError


def _due(event: CaseEvent, rule: str) -> dict[str, str]:
    value = event.data.get("due", {}).get(rule) or {}
    return {"date": str(value.get("date", "")), "rule": str(value.get("rule", ""))}


def _facts(
    kind: NoticeKind, case: Case, events: list[CaseEvent]
) -> tuple[CaseEvent, dict[str, Any]]:
    """The step the notice reports and its facts; `conflict` naming the state if none yet."""
    try:
        if kind is NoticeKind.ACCEPTANCE:
            event = _step(events, CaseState.ACCEPTED)
            return event, {"handle_due": _due(event, "handle")}
        if kind is NoticeKind.NOT_ACCEPTED:
            event = _step(events, CaseState.NOT_ACCEPTED, CaseState.REDIRECTED)
            to = CaseState(event.data["to"])
            channel = event.data.get("legal_channel")
            return event, {
                "ground": event.data.get("reason", ""),
                "channel": channel["label"] if channel else None,
                "advice": ADVICE[to] if channel else CHANNELS[to],
            }
        if kind is NoticeKind.EXTENSION:
            event = _step(events, extension=True)
            return event, {"reason": event.data.get("reason", ""), "due": _due(event, "extension")}
        event = _step(events, CaseState.RESPONDED)
    except LookupError:
        raise Conflict(
            f"当前状态为 {case.state}（{case_states.label(case.state)}），尚无可出具的"
            f"{NOTICE_TITLES[kind]}"
        ) from None
    outcome = event.data.get("outcome") or case.outcome or ""
    try:
        outcome_label = OUTCOME_LABELS[CaseOutcome(outcome)]
    except ValueError:
        outcome_label = outcome
    return event, {
        "outcome": outcome_label,
        "opinion": event.data.get("reason", ""),
        "review_due": _due(event, "review_request"),
    }


def available(case: Case, events: list[CaseEvent]) -> list[NoticeKind]:
    """The notices the case's timeline lets the hall issue now, in `NoticeKind` order."""
    found = []
    for kind in NoticeKind:
        try:
            _facts(kind, case, events)
        except Conflict:
            continue
        found.append(kind)
    return found


async def notice(session: AsyncSession, who: Principal, case_id: int, kind: str) -> Notice:
    """The notice `kind` of the case as of its timeline; `not_found`, `forbidden`, or `conflict`
    when the case has not reached the step the notice reports."""
    notice_kind = parse_kind(kind)
    case = await readable_case(session, who, case_id)
    events = list(
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
        )
    )
    event, facts = _facts(notice_kind, case, events)
    person = await session.get_one(Petitioner, case.petitioner_id)
    line = await session.get_one(Line, case.line_id)
    return Notice(
        kind=notice_kind,
        title=NOTICE_TITLES[notice_kind],
        number=case.number,
        query_code=case.query_code,
        petitioner=person.name,
        summary=case.summary,
        received=case.created_at.astimezone(HALL_TZ).date(),
        unit=f"接访厅{line.name}",
        issued=event.at.astimezone(HALL_TZ).date(),
        facts=facts,
    )


async def deliveries(session: AsyncSession, case_id: int) -> list[Delivery]:
    """Every recorded delivery of the case's notices, oldest first."""
    rows = await session.execute(
        select(NoticeDelivery, User.display_name)
        .outerjoin(User, User.id == NoticeDelivery.by_user_id)
        .where(NoticeDelivery.case_id == case_id)
        .order_by(NoticeDelivery.delivered_at, NoticeDelivery.id)
    )
    return [Delivery(d.id, d.kind, d.delivered_at, d.method, name or "") for d, name in rows.all()]


async def record_delivery(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    kind: str,
    *,
    method: str,
    delivered_at: datetime | None,
    now: datetime,
) -> Delivery:
    """Record that the notice `kind` reached the petitioner, with a `notice_delivered` event.

    Officers of the case's line, leaders, supervisors, administrators (`forbidden` otherwise);
    `invalid_input` for an unknown method or a delivery time in the future; `conflict` when
    the notice cannot be issued yet.
    """
    await notice(session, who, case_id, kind)
    case = await session.get_one(Case, case_id)
    if not case_states.may_transition(who, case):
        raise Forbidden("无权登记告知书送达")
    if method not in {m.value for m in DeliveryMethod}:
        choices = "、".join(m.value for m in DeliveryMethod)
        raise InvalidInput(f"未知的送达方式：{method}", fields={"method": f"one of {choices}"})
    at = delivered_at or now
    if at.tzinfo is None:
        raise InvalidInput("送达时间须带时区", fields={"delivered_at": "with a UTC offset"})
    if at > now:
        raise InvalidInput("送达时间不能晚于现在", fields={"delivered_at": "not in the future"})
    row = NoticeDelivery(
        case_id=case.id,
        kind=kind,
        delivered_at=at,
        method=method,
        by_user_id=who.user_id,
        recorded_at=now,
    )
    session.add(row)
    await session.flush()
    await append_event(
        session,
        case_id=case.id,
        kind=EVENT_KIND,
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.PETITIONER,
        data={"notice": kind, "method": method, "delivered_at": at.isoformat(), "id": row.id},
    )
    by = await session.get_one(User, who.user_id)
    return Delivery(row.id, kind, at, method, by.display_name)
