"""Registering a petitioner (信访人) and a matter, opening the case file and the queue ticket."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import queue
from hall.calendar import CalendarUnknown, load_calendar
from hall.deadlines import Rule, due_date
from hall.errors import Conflict, Forbidden, InvalidInput
from hall.model import (
    Case,
    CaseState,
    Channel,
    Line,
    Petitioner,
    PriorityClass,
    PriorityReason,
    Role,
    Ticket,
    User,
    Village,
    Visibility,
)
from hall.privacy import id_number_problem, phone_problem
from hall.settings import HALL_TZ, ExtendOver, QueueSettings
from hall.timeline import append_event
from hall.users import Principal

_QUERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MAX_SUMMARY = 2000
# The periods that run from receipt (登记): the law's 15 days and the hall's stricter promise.
RECEIPT_RULES = (Rule.ACCEPT, Rule.GENERAL_REPLY)


@dataclass(frozen=True, slots=True)
class Registration:
    """What a terminal or the desk submits: who (信访人) and what (事项), and the ticket's class.

    `priority_class` normal / priority (with a `priority_reason` among PriorityReason) / urgent
    (desk only, with a free-text reason and the username of the approving leader or supervisor).
    """

    name: str
    id_number: str
    phone: str
    village_id: int | None
    head_count: int
    summary: str
    line_code: str
    priority_class: str = PriorityClass.NORMAL
    priority_reason: str = ""
    approver: str = ""


@dataclass(frozen=True, slots=True)
class Registered:
    """The outcome of a registration: the case and its waiting ticket."""

    case: Case
    ticket: Ticket
    line: Line


async def _validate(session: AsyncSession, reg: Registration) -> tuple[Line, Village | None]:
    problems: dict[str, str] = {}
    name = reg.name.strip()
    if not name or len(name) > 32:
        problems["name"] = "请填写姓名（不超过32字）"
    if (why := id_number_problem(reg.id_number)) is not None:
        problems["id_number"] = why
    if (why := phone_problem(reg.phone)) is not None:
        problems["phone"] = why
    if not 1 <= reg.head_count <= 200:
        problems["head_count"] = "人数应在1至200之间"
    summary = reg.summary.strip()
    if not summary:
        problems["summary"] = "请填写反映事项"
    elif len(summary) > MAX_SUMMARY:
        problems["summary"] = f"事项摘要不超过{MAX_SUMMARY}字"
    line = await session.scalar(select(Line).where(Line.code == reg.line_code))
    if line is None:
        problems["line"] = f"未知条线：{reg.line_code}"
    if reg.priority_class not in tuple(PriorityClass):
        problems["priority_class"] = "类别应为 normal、priority 或 urgent"
    elif reg.priority_class == PriorityClass.PRIORITY:
        if reg.priority_reason not in tuple(PriorityReason):
            problems["priority_reason"] = "优先原因应为 elderly、disabled、pregnant 或 veteran"
    elif reg.priority_class == PriorityClass.URGENT:
        if not 2 <= len(reg.priority_reason.strip()) <= 200:
            problems["priority_reason"] = "加急须写明原因（2至200字）"
        if not reg.approver:
            problems["approver"] = "加急须有批准人"
    village = None
    if reg.village_id is not None:
        village = await session.get(Village, reg.village_id)
        if village is None:
            problems["village_id"] = "未知村（社区）"
    if problems:
        raise InvalidInput("登记信息有误", fields=problems)
    assert line is not None  # noqa: S101 - narrowed by the check above
    return line, village


async def _approver(session: AsyncSession, actor: Principal, reg: Registration) -> int | None:
    """The approving leader or supervisor of an urgent ticket (only the desk may ask for one)."""
    if reg.priority_class != PriorityClass.URGENT:
        return None
    if actor.role not in (Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("只有登记分流区可以登记加急")
    approver = await session.scalar(select(User).where(User.username == reg.approver))
    if approver is None or approver.role not in (Role.LEADER, Role.SUPERVISOR, Role.ADMIN):
        raise InvalidInput("批准人无效", fields={"approver": "批准人须为领导或督查账号"})
    return approver.id


async def _petitioner(
    session: AsyncSession, reg: Registration, village: Village | None, now: datetime
) -> Petitioner:
    id_number = reg.id_number.strip().upper()
    person = await session.scalar(select(Petitioner).where(Petitioner.id_number == id_number))
    if person is None:
        person = Petitioner(
            name=reg.name.strip(),
            id_number=id_number,
            phone=reg.phone.strip(),
            village_id=village.id if village else None,
            created_at=now,
        )
        session.add(person)
        await session.flush()
    else:
        # The latest registration carries the current phone and village.
        person.phone = reg.phone.strip()
        if village is not None:
            person.village_id = village.id
    return person


async def register(
    session: AsyncSession,
    actor: Principal,
    reg: Registration,
    *,
    channel: Channel,
    now: datetime,
    settings: QueueSettings,
    extend_over: ExtendOver = ExtendOver.HOLIDAYS_AND_WEEKENDS,
) -> Registered:
    """Validate, store the petitioner, open a case and put a ticket in the line's queue.

    `invalid_input` lists every wrong field and stores nothing; `conflict` if the petitioner
    already waits in a queue.
    """
    if actor.role == Role.TERMINAL and actor.terminal_id is None:
        raise Conflict("该终端账号未绑定村信息中心，请联系管理员")
    line, village = await _validate(session, reg)
    approver_id = await _approver(session, actor, reg)
    person = await _petitioner(session, reg, village, now)
    already = await queue.ticket_in_play(session, person.id)
    if already is not None:
        raise Conflict(f"该信访人已在排队（{already}），请勿重复取号")
    case = Case(
        number=f"pending-{secrets.token_hex(8)}",
        query_code="".join(secrets.choice(_QUERY_ALPHABET) for _ in range(6)),
        line_id=line.id,
        petitioner_id=person.id,
        state=CaseState.REGISTERED,
        summary=reg.summary.strip(),
        head_count=reg.head_count,
        channel=channel,
        proxy=actor.terminal_id is not None,
        registered_by=actor.user_id,
        created_at=now,
    )
    session.add(case)
    await session.flush()
    # Numbered from the row id: unique without a race between two registrations.
    case.number = f"JF{now.astimezone(HALL_TZ):%Y%m%d}{case.id:06d}"
    await append_event(
        session,
        case_id=case.id,
        kind="registered",
        at=now,
        actor_id=actor.user_id,
        visibility=Visibility.PUBLIC,
        data={
            "line": line.code,
            "channel": channel,
            "proxy": case.proxy,
            "due": await receipt_dues(session, now, extend_over),
        },
    )
    ticket = await queue.enqueue(
        session,
        line=line,
        case_id=case.id,
        petitioner_id=person.id,
        channel=channel,
        head_count=reg.head_count,
        terminal_id=actor.terminal_id,
        created_by=actor.user_id,
        now=now,
        settings=settings,
        priority_class=reg.priority_class,
        priority_reason=reg.priority_reason.strip(),
        approver_id=approver_id,
    )
    return Registered(case=case, ticket=ticket, line=line)


async def receipt_dues(
    session: AsyncSession, now: datetime, extend_over: ExtendOver
) -> dict[str, dict[str, str]]:
    """The due dates that run from receipt at `now`, as stored in the `registered` event.

    Each is `{"date", "rule"}`; one the official calendar cannot compute is `{"error", "rule"}`
    naming the date to enter, so the case shows a deadline to fix rather than none (the
    registration itself is not refused: the petitioner is in the hall).
    """
    calendar = await load_calendar(session)
    start = now.astimezone(HALL_TZ).date()
    dues: dict[str, dict[str, str]] = {}
    for rule in RECEIPT_RULES:
        try:
            due = due_date(rule, start, calendar, extend_over=extend_over)
        except CalendarUnknown as exc:
            dues[rule.value] = {"error": exc.message, "rule": rule.value}
        else:
            dues[rule.value] = {"date": due.day.isoformat(), "rule": due.text}
    return dues
