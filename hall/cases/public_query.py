"""The petitioner's progress query (查询): case number + query code → stage, handling unit, due
date and the public timeline. It never returns personal data or non-public events.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Department
from hall.cases import deadlines, legal_channels, states
from hall.cases.tables import Case, CaseEvent, Visibility
from hall.errors import NotFound
from hall.queue.tables import Line
from hall.settings import HALL_TZ

# One message for a wrong number and a wrong code, so a guess learns nothing about either.
NO_MATCH = "未找到该信访事项，或查询码不正确"
THROTTLED = "查询失败次数过多，请稍后再试"
# Caps on what a query may send (a number is JF + date + 6 digits, a code 6 characters).
NUMBER_MAX = 32
QUERY_CODE_MAX = 16
EVENT_LABELS = {
    "registered": "登记",
    "department_acknowledged": "责任单位签收",
    "leader_owned": "领导包案",
    "evaluation": "满意度评价",
    "evaluation_expired": "评价期限届满",
}


@dataclass(frozen=True, slots=True)
class PublicEvent:
    """One public timeline entry: what happened (in Chinese) and on which day (hall time)."""

    kind: str
    label: str
    day: date


@dataclass(frozen=True, slots=True)
class PublicStatus:
    """What the public query shows: nothing personal, no notes, no staff events."""

    number: str
    state: str
    stage: str
    unit: str
    due_date: str | None
    due_label: str | None
    # The legal channel (法定途径) the petitioner is pointed to; the ground stays on the notice.
    legal_channel: str | None
    events: list[PublicEvent]


def _normalise(text: str) -> str:
    return text.strip().upper()


def _event_label(event: CaseEvent) -> str:
    if event.kind == states.EVENT_KIND:
        if event.data.get("extension"):
            return "延长办理期限"
        return states.label(str(event.data.get("to", "")))
    return EVENT_LABELS.get(event.kind, event.kind)


async def matching_case(session: AsyncSession, number: str, query_code: str) -> Case:
    """The case numbered `number` if `query_code` is its code.

    `not_found` with the same message whether the number or the code is wrong.
    """
    case = await session.scalar(select(Case).where(Case.number == _normalise(number)))
    # Compare even when the number is unknown, so both failures take the same path.
    expected = case.query_code if case is not None else "-" * 6
    if not hmac.compare_digest(_normalise(query_code).encode(), expected.encode()) or not case:
        raise NotFound(NO_MATCH)
    return case


async def public_status(session: AsyncSession, number: str, query_code: str) -> PublicStatus:
    """The public view of the case numbered `number` if `query_code` is its code.

    `not_found` with the same message whether the number or the code is wrong.
    """
    case = await matching_case(session, number, query_code)
    line = await session.get_one(Line, case.line_id)
    # The handling unit: the responsible department once transferred or assigned.
    department = await session.get(Department, case.department_id) if case.department_id else None
    events = list(
        await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
        )
    )
    # The period now running, as the case page shows it (an uncomputable one stays internal:
    # staff see it as an error to fix, the public no date).
    due = deadlines.open_deadline(case.state, events)
    if due is not None and due.day is None:
        due = None
    return PublicStatus(
        number=case.number,
        state=case.state,
        stage=states.label(case.state),
        unit=department.name if department else f"{line.name}接谈室",
        due_date=due.day.isoformat() if due and due.day else None,
        due_label=due.label if due else None,
        legal_channel=legal_channels.display(case.legal_channel, case.legal_channel_note),
        events=[
            PublicEvent(kind=e.kind, label=_event_label(e), day=e.at.astimezone(HALL_TZ).date())
            for e in events
            if e.visibility == Visibility.PUBLIC
        ],
    )
