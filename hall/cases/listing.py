"""The case list for officers and supervisors (信访事项列表): filters by line, state, due date,
overdue, due soon and owner, each row with its open deadline and flags."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Role
from hall.accounts.users import Principal
from hall.cases import deadlines
from hall.cases.deadlines import Flags
from hall.cases.tables import Case, CaseEvent, CaseState
from hall.errors import Forbidden, InvalidInput
from hall.queue.tables import Line
from hall.visits.tables import Visit

LIST_ROLES = (Role.OFFICER, Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN)
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What the list is narrowed to; None means "any". `owner` is the user id of an officer
    who received the case (any of its visits); `due_from`/`due_to` bound the open deadline's
    day, both inclusive."""

    line: str | None = None
    state: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    overdue: bool | None = None
    due_soon: bool | None = None
    owner: int | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One case of the list with its line and deadline flags."""

    case: Case
    line: Line
    flags: Flags


async def _check(session: AsyncSession, f: CaseFilter) -> Line | None:
    problems: dict[str, str] = {}
    line = None
    if f.line is not None:
        line = await session.scalar(select(Line).where(Line.code == f.line))
        if line is None:
            problems["line"] = f"unknown line {f.line}"
    if f.state is not None and f.state not in {s.value for s in CaseState}:
        problems["state"] = f"unknown state {f.state}"
    if f.due_from and f.due_to and f.due_from > f.due_to:
        problems["due_to"] = "before due_from"
    if not 1 <= f.limit <= MAX_LIMIT:
        problems["limit"] = f"1 to {MAX_LIMIT}"
    if problems:
        raise InvalidInput("筛选条件有误", fields=problems)
    return line


def _keep(f: CaseFilter, flags: Flags) -> bool:
    day = flags.deadline.day if flags.deadline else None
    if (f.due_from or f.due_to) and day is None:
        return False
    if day is not None and ((f.due_from and day < f.due_from) or (f.due_to and day > f.due_to)):
        return False
    if f.overdue is not None and flags.overdue != f.overdue:
        return False
    return f.due_soon is None or flags.due_soon == f.due_soon


async def search_cases(
    session: AsyncSession, who: Principal, f: CaseFilter, *, now: datetime, due_soon_days: int
) -> list[CaseRow]:
    """The newest cases the caller may read that match `f` (at most `f.limit`).

    Officers see their lines only; `forbidden` for other roles; `invalid_input` names each
    wrong filter (unknown line or state, due_to before due_from, limit out of range).
    """
    if who.role not in LIST_ROLES:
        raise Forbidden("无权查看信访事项列表")
    line = await _check(session, f)
    query = select(Case, Line).join(Line, Line.id == Case.line_id).order_by(Case.id.desc())
    if who.role == Role.OFFICER:
        query = query.where(Case.line_id.in_(who.line_ids))
    if line is not None:
        query = query.where(Case.line_id == line.id)
    if f.state is not None:
        query = query.where(Case.state == f.state)
    if f.owner is not None:
        query = query.where(Case.id.in_(select(Visit.case_id).where(Visit.officer_id == f.owner)))
    candidates = list((await session.execute(query)).all())
    by_case: dict[int, list[CaseEvent]] = defaultdict(list)
    ids = [case.id for case, _ in candidates]
    for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        for event in await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id.in_(ids[start : start + 500]))
        ):
            if event.data.get("due"):
                by_case[event.case_id].append(event)
    rows: list[CaseRow] = []
    for case, case_line in candidates:
        flags = deadlines.flags(case.state, by_case[case.id], now, due_soon_days=due_soon_days)
        if _keep(f, flags):
            rows.append(CaseRow(case, case_line, flags))
            if len(rows) >= f.limit:
                break
    return rows
