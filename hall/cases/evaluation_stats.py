"""Satisfaction figures (满意度): 参评率 = evaluated ÷ (evaluated + expired) and 满意率 = (满意 +
基本满意) ÷ evaluated, per line, per department and overall, for the responses (答复) given on a
range of hall days. Read from typed rows only: the `responded` steps of the timeline and the
`evaluations` rows that grade them; a window that has passed without a row counts as expired
even before the sweep records it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Department
from hall.cases import states
from hall.cases.evaluation import GRADES
from hall.cases.tables import Case, CaseEvent, CaseState, Evaluation
from hall.errors import InvalidInput
from hall.queue.stats import Rate
from hall.queue.tables import Line
from hall.settings import HALL_TZ

MAX_RANGE_DAYS = 366
SATISFIED = frozenset({"satisfied", "basically_satisfied"})
HALL_UNIT = "本厅直接办理"  # responses given by a line of the hall itself (no department)


@dataclass(slots=True)
class Tally:
    """The responses of one group and what became of their evaluation."""

    responses: int = 0
    evaluated: int = 0
    expired: int = 0
    open: int = 0
    grades: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))

    @property
    def participation(self) -> Rate:
        """参评率: evaluated ÷ (evaluated + expired); open windows are not counted yet."""
        return Rate(self.evaluated, self.evaluated + self.expired)

    @property
    def satisfaction(self) -> Rate:
        """满意率: (满意 + 基本满意) ÷ evaluated."""
        return Rate(sum(self.grades[g] for g in SATISFIED), self.evaluated)

    def add(self, outcome: str, grade: str | None) -> None:
        self.responses += 1
        if outcome == "evaluated":
            self.evaluated += 1
            if grade in self.grades:
                self.grades[grade] += 1
        elif outcome == "expired":
            self.expired += 1
        else:
            self.open += 1


@dataclass(frozen=True, slots=True)
class Group:
    """One line or department with its tally; `code` is None for the hall's own responses."""

    code: str | None
    name: str
    tally: Tally


@dataclass(frozen=True, slots=True)
class EvaluationFigures:
    """The figures of the responses given from `start` to `end` (hall days, inclusive)."""

    start: date
    end: date
    lines: list[Group]
    departments: list[Group]
    total: Tally


def check_range(start: date, end: date) -> None:
    """`invalid_input` for a reversed range or one longer than `MAX_RANGE_DAYS`."""
    if end < start:
        raise InvalidInput("结束日期不能早于开始日期", fields={"to": "on or after from"})
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput(
            f"统计区间不超过{MAX_RANGE_DAYS}天", fields={"to": f"at most {MAX_RANGE_DAYS} days"}
        )


def _outcome(row: Evaluation | None, responded: datetime, now: datetime, days: int) -> str:
    if row is not None:
        return row.state
    deadline = responded.astimezone(HALL_TZ).date() + timedelta(days=days)
    return "expired" if now.astimezone(HALL_TZ).date() > deadline else "open"


def _groups(
    keys: Iterable[tuple[int | None, str | None, str]], tallies: dict[int | None, Tally]
) -> list[Group]:
    return [Group(code, name, tallies.get(key, Tally())) for key, code, name in keys]


async def evaluation_figures(
    session: AsyncSession, *, start: date, end: date, now: datetime, days: int
) -> EvaluationFigures:
    """参评率 and 满意率 of the responses given from `start` to `end` (inclusive, hall time)."""
    check_range(start, end)
    since = datetime.combine(start, time(), HALL_TZ)
    until = datetime.combine(end + timedelta(days=1), time(), HALL_TZ)
    steps = await session.scalars(
        select(CaseEvent).where(
            CaseEvent.kind == states.EVENT_KIND,
            CaseEvent.at >= since,
            CaseEvent.at < until,
        )
    )
    responses = [e for e in steps if e.data.get("to") == CaseState.RESPONDED]
    ids = sorted({e.case_id for e in responses})
    cases = {c.id: c for c in await session.scalars(select(Case).where(Case.id.in_(ids)))}
    rows = {
        (r.case_id, r.response_seq): r
        for r in await session.scalars(select(Evaluation).where(Evaluation.case_id.in_(ids)))
    }
    by_line: dict[int | None, Tally] = {}
    by_department: dict[int | None, Tally] = {}
    total = Tally()
    for event in responses:
        case = cases[event.case_id]
        row = rows.get((event.case_id, event.seq))
        outcome = _outcome(row, event.at, now, days)
        grade = row.grade if row is not None else None
        # After a response the handling department no longer changes (no way back to triage).
        for tallies, key in ((by_line, case.line_id), (by_department, case.department_id)):
            tallies.setdefault(key, Tally()).add(outcome, grade)
        total.add(outcome, grade)
    lines = await session.scalars(select(Line).order_by(Line.sort, Line.id))
    departments = await session.scalars(select(Department).order_by(Department.code))
    return EvaluationFigures(
        start=start,
        end=end,
        lines=_groups(((ln.id, ln.code, ln.name) for ln in lines), by_line),
        departments=_groups(
            [(None, None, HALL_UNIT), *((d.id, d.code, d.name) for d in departments)],
            by_department,
        ),
        total=total,
    )
