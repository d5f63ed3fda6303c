"""Satisfaction figures (参评率, 满意率) per line, per department and overall, on known numbers:
responses inside and outside the range, graded, expired (swept or not yet) and still open."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hall.cases import evaluation
from hall.cases.evaluation_stats import EvaluationFigures, Group, check_range, evaluation_figures
from hall.cases.states import Change, transition
from hall.cases.tables import Case, CaseState
from hall.db import Database
from hall.errors import InvalidInput
from tests.hall.cases.test_case_states import CLAIM, MARCH, new_case
from tests.support import principal

S = CaseState
DAYS = 30
NOW = MARCH + timedelta(days=31)  # 2026-04-02: March 2's windows have passed, March 27's not


async def responded(
    db: Database, n: int, *, line: str = "urban", department: str | None = None, at: datetime
) -> int:
    """A case of `line` answered at `at` (by the leader), through `department` if given."""
    case_id = await new_case(db, n, line=line)
    who = await principal(db, "leader")
    route = [(S.ASSIGNED, Change(department=department))] if department else []
    steps = [
        (S.TRIAGED, Change()),
        *route,
        (S.ACCEPTED, CLAIM),
        (S.IN_PROGRESS, Change()),
        (S.RESPONDED, Change(outcome="support")),
    ]
    for to, change in steps:
        async with db.transaction() as session:
            await transition(session, who, case_id, to, reason="依规办理", now=at, change=change)
    return case_id


async def grade(db: Database, case_id: int, value: str) -> None:
    async with db.transaction() as session:
        case = await session.get_one(Case, case_id)
        at = MARCH + timedelta(days=1)
        await evaluation.evaluate(
            session, case, grade=value, comment="", channel="query", now=at, days=DAYS
        )


def by_code(groups: list[Group], code: str | None) -> Group:
    return next(g for g in groups if g.code == code)


def parts(figures: EvaluationFigures, which: str, code: str | None = "total") -> tuple[int, ...]:
    groups = {"line": figures.lines, "department": figures.departments}
    t = figures.total if code == "total" else by_code(groups[which], code).tally
    return (
        t.responses,
        t.evaluated,
        t.expired,
        t.open,
        t.participation.numerator,
        t.participation.denominator,
        t.satisfaction.numerator,
        t.satisfaction.denominator,
    )


async def test_figures_on_known_numbers(db: Database) -> None:
    a = await responded(db, 1, at=MARCH)
    b = await responded(db, 2, at=MARCH)
    c = await responded(db, 3, department="zhujian", at=MARCH)
    await responded(db, 4, line="legal", at=MARCH)  # never graded: expired at NOW
    await responded(db, 5, at=MARCH + timedelta(days=25))  # 03-27: still open at NOW
    await responded(db, 6, at=MARCH + timedelta(days=31))  # 04-02: outside the range
    await grade(db, a, "satisfied")
    await grade(db, b, "dissatisfied")
    await grade(db, c, "basically_satisfied")

    async def figures() -> EvaluationFigures:
        async with db.reader() as session:
            return await evaluation_figures(
                session, start=date(2026, 3, 1), end=date(2026, 3, 31), now=NOW, days=DAYS
            )

    before = await figures()
    # responses, evaluated, expired, open, participation n/d, satisfaction n/d
    assert parts(before, "line") == (5, 3, 1, 1, 3, 4, 2, 3)
    assert parts(before, "line", "urban") == (4, 3, 0, 1, 3, 3, 2, 3)
    assert parts(before, "line", "legal") == (1, 0, 1, 0, 0, 1, 0, 0)
    assert parts(before, "line", "finance") == (0, 0, 0, 0, 0, 0, 0, 0)
    assert parts(before, "department", "zhujian") == (1, 1, 0, 0, 1, 1, 1, 1)
    assert parts(before, "department", None) == (4, 2, 1, 1, 2, 3, 1, 2)
    assert parts(before, "department", "renshe") == (0, 0, 0, 0, 0, 0, 0, 0)
    assert before.total.grades == {"satisfied": 1, "basically_satisfied": 1, "dissatisfied": 1}
    assert before.total.participation.value == pytest.approx(0.75)
    assert len(before.lines) == 7
    # The sweep turns the computed expiry into a row: the figures do not move.
    async with db.transaction() as session:
        assert await evaluation.sweep_expired(session, now=NOW, days=DAYS) == 1
    assert parts(await figures(), "line") == parts(before, "line")


def test_a_reversed_or_too_long_range_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        check_range(date(2026, 3, 2), date(2026, 3, 1))
    assert "to" in err.value.fields
    with pytest.raises(InvalidInput):
        check_range(date(2025, 1, 1), date(2026, 1, 2))  # 367 days
    check_range(date(2025, 1, 1), date(2026, 1, 1))  # 366 days, both ends included: fine
