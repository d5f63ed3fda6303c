"""Satisfaction evaluation (满意度评价): opens at `responded`, one per response, within the
configured window, then `evaluation_expired` — computed on read, recorded on read or by a sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hall.cases import evaluation
from hall.cases.registration import Registration, register
from hall.cases.states import Change
from hall.cases.tables import Case, CaseEvent, CaseState, Evaluation
from hall.db import Database
from hall.errors import Conflict, Forbidden, InvalidInput
from hall.queue.tables import Channel
from hall.settings import CaseSettings
from tests.hall.cases.test_case_states import MARCH, PATHS, new_case, walk
from tests.support import QS, principal, valid_id_number

DAYS = CaseSettings().evaluation_days


async def responded_case(db: Database, n: int) -> int:
    case_id = await new_case(db, n)
    await walk(db, case_id, PATHS[CaseState.RESPONDED])
    return case_id


def test_the_window_is_a_setting_with_a_help_string() -> None:
    assert DAYS == 30
    with pytest.raises(ValueError, match="evaluation_days"):
        CaseSettings(evaluation_days=0)


async def test_evaluation_opens_only_at_responded(db: Database) -> None:
    case_id = await new_case(db, 11)
    await walk(db, case_id, PATHS[CaseState.ACCEPTED])
    async with db.transaction() as session:
        case = await session.get_one(Case, case_id)
        assert (await evaluation.status(session, case, now=MARCH, days=DAYS)).state == "not_open"
        with pytest.raises(Conflict, match="尚未答复"):
            await evaluation.evaluate(
                session, case, grade="satisfied", comment="", channel="query", now=MARCH, days=DAYS
            )


async def test_one_evaluation_per_response(db: Database) -> None:
    case_id = await responded_case(db, 12)
    async with db.transaction() as session:
        case = await session.get_one(Case, case_id)
        status = await evaluation.status(session, case, now=MARCH, days=DAYS)
        assert (status.state, str(status.deadline)) == ("open", "2026-04-01")
        with pytest.raises(InvalidInput):
            await evaluation.evaluate(
                session, case, grade="great", comment="", channel="query", now=MARCH, days=DAYS
            )
        await evaluation.evaluate(
            session,
            case,
            grade="basically_satisfied",
            comment="基本解决",
            channel="terminal",
            now=MARCH,
            days=DAYS,
        )
    async with db.transaction() as session:
        case = await session.get_one(Case, case_id)
        with pytest.raises(Conflict, match="已评价"):
            await evaluation.evaluate(
                session, case, grade="satisfied", comment="", channel="query", now=MARCH, days=DAYS
            )
        status = await evaluation.status(session, case, now=MARCH, days=DAYS)
        assert (status.state, status.grade) == ("evaluated", "basically_satisfied")
        event = await session.scalar(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq.desc())
        )
        assert event is not None and event.kind == "evaluation"
        assert "comment" not in event.data  # the comment stays out of the public timeline


async def test_a_review_decision_is_not_a_new_response(db: Database) -> None:
    case_id = await responded_case(db, 13)
    async with db.transaction() as session:
        case = await session.get_one(Case, case_id)
        await evaluation.evaluate(
            session, case, grade="dissatisfied", comment="", channel="query", now=MARCH, days=DAYS
        )
    steps = [
        (CaseState.REVIEW_REQUESTED, Change()),
        (CaseState.REVIEWED, Change(outcome="support")),
    ]
    await walk(db, case_id, steps)
    async with db.transaction() as session:
        case = await session.get_one(Case, case_id)
        # A review decision is not a new `responded` step: still the first response's row.
        assert (await evaluation.status(session, case, now=MARCH, days=DAYS)).state == "evaluated"


async def test_after_the_window_the_evaluation_expires(db: Database) -> None:
    case_id = await responded_case(db, 14)
    last_day = MARCH + timedelta(days=DAYS)
    after = last_day + timedelta(days=1)
    async with db.transaction() as session:
        case = await session.get_one(Case, case_id)
        assert (await evaluation.status(session, case, now=last_day, days=DAYS)).state == "open"
        assert (await evaluation.status(session, case, now=after, days=DAYS)).state == "expired"
        with pytest.raises(Conflict, match="评价期限已于 2026-04-01 届满"):
            await evaluation.evaluate(
                session, case, grade="satisfied", comment="", channel="query", now=after, days=DAYS
            )
    async with db.transaction() as session:
        assert await evaluation.sweep_expired(session, now=after, days=DAYS) == 1
    async with db.transaction() as session:
        assert await evaluation.sweep_expired(session, now=after, days=DAYS) == 0
        case = await session.get_one(Case, case_id)
        assert (await evaluation.record_expiry(session, case, now=after, days=DAYS)).state == (
            "expired"
        )
        rows = list(await session.scalars(select(Evaluation).where(Evaluation.case_id == case_id)))
        assert [(r.state, r.grade) for r in rows] == [("expired", None)]
        kinds = list(
            await session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id))
        )
        assert kinds.count("evaluation_expired") == 1


async def terminal_case(db: Database, n: int, terminal: str = "village-zhangzhuang") -> int:
    """A case registered at a village terminal (代办), answered."""
    who = await principal(db, terminal)
    reg = Registration(
        name="李四",
        id_number=valid_id_number(f"41010219800202{n:03d}"),
        phone="13912345678",
        village_id=1,
        head_count=1,
        summary="农村低保申请未获答复",
        line_code="urban",
    )
    async with db.transaction() as session:
        done = await register(session, who, reg, channel=Channel.REMOTE, now=MARCH, settings=QS)
    await walk(db, done.case.id, PATHS[CaseState.RESPONDED])
    return done.case.id


async def test_the_terminal_lists_its_pending_cases_and_records_a_grade(db: Database) -> None:
    case_id = await terminal_case(db, 1)
    await responded_case(db, 15)  # registered at the desk: not the terminal's
    here = await principal(db, "village-zhangzhuang")
    elsewhere = await principal(db, "village-lijiawan")
    async with db.reader() as session:
        pending = await evaluation.pending_for_terminal(session, here, now=MARCH, days=DAYS)
        assert await evaluation.pending_for_terminal(session, elsewhere, now=MARCH, days=DAYS) == []
        with pytest.raises(Forbidden):
            await evaluation.terminal_case(session, elsewhere, case_id)
        with pytest.raises(Forbidden):
            await evaluation.pending_for_terminal(
                session, await principal(db, "officer-urban"), now=MARCH, days=DAYS
            )
    assert [(p.case_id, p.petitioner, p.outcome, str(p.deadline)) for p in pending] == [
        (case_id, "李*", "不支持", "2026-04-01")
    ]
    async with db.transaction() as session:
        case = await evaluation.terminal_case(session, here, case_id)
        await evaluation.evaluate(
            session,
            case,
            grade="satisfied",
            comment="信访人表示满意",
            channel="terminal",
            now=MARCH,
            days=DAYS,
            actor_id=here.user_id,
        )
    async with db.reader() as session:
        assert await evaluation.pending_for_terminal(session, here, now=MARCH, days=DAYS) == []
        case = await session.get_one(Case, case_id)
        status = await evaluation.status(session, case, now=MARCH, days=DAYS)
        event = await session.scalar(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq.desc())
        )
    assert (status.state, status.grade, status.channel) == ("evaluated", "satisfied", "terminal")
    assert event is not None and (event.kind, event.actor_id) == ("evaluation", here.user_id)
    assert event.data["channel"] == "terminal"


async def test_the_pending_list_drops_a_passed_window(db: Database) -> None:
    await terminal_case(db, 2)
    here = await principal(db, "village-zhangzhuang")
    after = MARCH + timedelta(days=DAYS + 1)
    async with db.reader() as session:
        assert await evaluation.pending_for_terminal(session, here, now=after, days=DAYS) == []
