"""The evaluation sweep and races: candidates chosen in SQL and recorded in small batches (one
transaction each), and concurrent grades or expiries of one response end in one row and coded
conflicts, never a crash — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hall import demo
from hall.cases import evaluation
from hall.cases.states import transition
from hall.cases.tables import Case, CaseEvent, CaseState, Evaluation
from hall.db import Database, migrate
from hall.errors import Conflict
from services.evaluation_sweeper import EvaluationSweeper
from tests.hall.cases.test_case_states import MARCH, PATHS, new_case, walk
from tests.hall.cases.test_evaluation import DAYS, responded_case
from tests.support import MovableClock, principal
from tests.web.test_cli import pg_url  # noqa: F401 - the PostgreSQL fixture

ONE_DAY = timedelta(days=1)
AFTER = MARCH + timedelta(days=DAYS + 1)  # the window of a response on MARCH has passed


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:  # noqa: F811 - the fixture
    await migrate(pg_url)
    pg = Database(pg_url)
    async with pg.transaction() as session:
        await demo.ensure_reference_data(session)
        await demo.seed_demo(session, now=MARCH)
    yield pg
    await pg.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest) -> Database:
    """The seeded SQLite file of `db`, or a seeded PostgreSQL database."""
    found = request.getfixturevalue("db" if request.param == "sqlite" else "pg_db")
    assert isinstance(found, Database)
    return found


async def rows_and_events(db: Database, case_id: int) -> tuple[list[str], list[str]]:
    async with db.reader() as session:
        rows = list(
            await session.scalars(select(Evaluation.state).where(Evaluation.case_id == case_id))
        )
        kinds = list(
            await session.scalars(
                select(CaseEvent.kind).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind.like("evaluation%")
                )
            )
        )
    return rows, kinds


async def test_concurrent_grades_of_one_response_give_one_row_and_conflicts(
    any_db: Database,
) -> None:
    case_id = await responded_case(any_db, 31)

    async def grade(n: int) -> str:
        async with any_db.transaction() as session:
            case = await session.get_one(Case, case_id)
            await evaluation.evaluate(
                session,
                case,
                grade="satisfied",
                comment=f"第{n}次",
                channel="query",
                now=MARCH,
                days=DAYS,
            )
        return "evaluated"

    results = await asyncio.gather(*(grade(n) for n in range(4)), return_exceptions=True)
    assert results.count("evaluated") == 1, results
    refused = [r for r in results if r != "evaluated"]
    assert all(isinstance(r, Conflict) for r in refused), refused
    assert all(r.code == "conflict" and "已评价" in r.message for r in refused)  # type: ignore[union-attr]
    assert await rows_and_events(any_db, case_id) == (["evaluated"], ["evaluation"])


async def test_concurrent_expiries_of_one_response_record_it_once(any_db: Database) -> None:
    case_id = await responded_case(any_db, 32)

    async def on_read() -> str:
        async with any_db.transaction() as session:
            case = await session.get_one(Case, case_id)
            return (await evaluation.record_expiry(session, case, now=AFTER, days=DAYS)).state

    async def sweep() -> int:
        async with any_db.transaction() as session:
            return await evaluation.sweep_expired(session, now=AFTER, days=DAYS)

    results = await asyncio.gather(on_read(), sweep(), on_read(), sweep())
    assert results[0] == results[2] == "expired"
    assert await rows_and_events(any_db, case_id) == (["expired"], ["evaluation_expired"])


async def test_the_sweep_records_in_batches_only_passed_unevaluated_responses(
    any_db: Database,
) -> None:
    passed = [await responded_case(any_db, 40 + n) for n in range(5)]
    graded = await responded_case(any_db, 46)
    async with any_db.transaction() as session:
        case = await session.get_one(Case, graded)
        await evaluation.evaluate(
            session, case, grade="satisfied", comment="", channel="query", now=MARCH, days=DAYS
        )
    open_case = await new_case(any_db, 47)  # answered a day ago: its window is open
    who = await principal(any_db, "officer-urban")
    for to, change in PATHS[CaseState.RESPONDED]:
        async with any_db.transaction() as session:
            await transition(
                session, who, open_case, to, reason="依规办理", now=AFTER - ONE_DAY, change=change
            )
    waiting = await new_case(any_db, 48)
    await walk(any_db, waiting, PATHS[CaseState.ACCEPTED])

    async with any_db.transaction() as session:
        assert await evaluation.sweep_expired(session, now=AFTER, days=DAYS, limit=2) == 2
    sweeper = EvaluationSweeper(
        db=any_db, clock=MovableClock(AFTER), days=DAYS, interval_s=60, batch=2
    )
    assert await sweeper.sweep() == 3  # two more batches of 2 and 1, one transaction each
    assert await sweeper.sweep() == 0
    async with any_db.reader() as session:
        expired = set(
            await session.scalars(select(Evaluation.case_id).where(Evaluation.state == "expired"))
        )
        events = await session.scalar(
            select(func.count()).where(CaseEvent.kind == evaluation.EXPIRED)
        )
    assert expired == set(passed)
    assert events == 5
