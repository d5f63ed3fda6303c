"""Responsible departments (责任单位): assignment → receipt → reply → responded; objection
inside and after the 5 working days; supervision (督办) with its feedback deadline; 包案."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from hall.cases import cases, departments
from hall.cases.states import Change, transition
from hall.cases.tables import Case, CaseEvent, CaseState
from hall.cases.timeline import verify_chain
from hall.db import Database
from hall.errors import Conflict, Forbidden, InvalidInput
from tests.hall.cases.test_case_states import MARCH, new_case
from tests.support import principal

S = CaseState
DAY = timedelta(days=1)


async def assign(
    db: Database, case_id: int, *, to: str = "assigned", dept: str = "zhujian"
) -> None:
    """The urban officer triages the case and assigns it (classified) to a department."""
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        await transition(session, officer, case_id, S.TRIAGED, reason="分流", now=MARCH)
    async with db.transaction() as session:
        await transition(
            session,
            officer,
            case_id,
            to,
            reason="属住建局职责",
            now=MARCH,
            change=Change(department=dept, classification="claim", claim_type=2),
        )


async def events(db: Database, case_id: int) -> list[CaseEvent]:
    async with db.reader() as session:
        return list(
            await session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
            )
        )


async def test_assign_acknowledge_reply_reaches_responded(db: Database) -> None:
    case_id = await new_case(db, 1)
    await assign(db, case_id)
    dept = await principal(db, "dept-zhujian")
    other = await principal(db, "dept-renshe")
    async with db.reader() as session:
        assert [c.id for c in await cases.list_cases(session, dept)] == [case_id]
        assert await cases.list_cases(session, other) == []
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="请先签收"):
            await departments.reply(
                session, dept, case_id, outcome="support", text="已解决", now=MARCH
            )
    async with db.transaction() as session:
        with pytest.raises(Forbidden):
            await departments.acknowledge(session, other, case_id, now=MARCH)
    async with db.transaction() as session:
        await departments.acknowledge(session, dept, case_id, now=MARCH)
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="已签收"):
            await departments.acknowledge(session, dept, case_id, now=MARCH)
    async with db.transaction() as session:
        done = await departments.reply(
            session, dept, case_id, outcome="support", text="补偿款已于本周发放", now=MARCH + DAY
        )
        assert (done.case.state, done.case.outcome) == (S.RESPONDED, "support")
    steps = [e.data.get("to") for e in await events(db, case_id) if e.kind == "state_changed"]
    assert steps == ["triaged", "assigned", "accepted", "in_progress", "responded"]
    kinds = [e.kind for e in await events(db, case_id)]
    assert "department_acknowledged" in kinds
    async with db.reader() as session:
        assert await verify_chain(session, case_id) == []


async def test_assignment_needs_a_known_department(db: Database) -> None:
    case_id = await new_case(db, 2)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        await transition(session, officer, case_id, S.TRIAGED, reason="分流", now=MARCH)
    for change in (Change(), Change(department="nowhere")):
        async with db.transaction() as session:
            with pytest.raises(InvalidInput) as err:
                await transition(
                    session,
                    officer,
                    case_id,
                    S.TRANSFERRED,
                    reason="转送",
                    now=MARCH,
                    change=change,
                )
            assert "department" in err.value.fields
    async with db.transaction() as session:
        with pytest.raises(InvalidInput):
            await transition(
                session,
                officer,
                case_id,
                S.ACCEPTED,
                reason="受理",
                now=MARCH,
                change=Change(department="zhujian", classification="suggestion"),
            )


async def test_objection_inside_the_period_sends_the_case_back(db: Database) -> None:
    case_id = await new_case(db, 3)
    await assign(db, case_id, to="transferred")
    routed = [e for e in await events(db, case_id) if e.data.get("to") == "transferred"][0]
    # Monday 2 March 2026: five working days from the next day end on Monday 9 March.
    assert routed.data["due"]["object"]["date"] == "2026-03-09"
    dept = await principal(db, "dept-zhujian")
    last_day = datetime(2026, 3, 9, 9, 0, tzinfo=MARCH.tzinfo) - timedelta(hours=8)
    async with db.transaction() as session:
        done = await departments.object_to(
            session, dept, case_id, ground="该事项属县自然资源局职责", now=last_day
        )
        assert done.case.state == S.TRIAGED
        assert done.case.department_id is None
    async with db.reader() as session:
        assert await cases.list_cases(session, dept) == []
    kinds = [e.kind for e in await events(db, case_id)]
    assert kinds[-2:] == ["department_objected", "state_changed"]


async def test_objection_after_the_period_is_refused(db: Database) -> None:
    case_id = await new_case(db, 4)
    await assign(db, case_id)
    dept = await principal(db, "dept-zhujian")
    too_late = datetime(2026, 3, 10, 1, 0, tzinfo=MARCH.tzinfo)
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="异议期限已于 2026-03-09 届满"):
            await departments.object_to(
                session, dept, case_id, ground="不属本单位职责", now=too_late
            )
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        assert case.state == S.ASSIGNED


async def test_supervision_with_feedback_deadline(db: Database) -> None:
    case_id = await new_case(db, 5)
    supervisor = await principal(db, "supervisor")
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="尚未转送或交办"):
            await departments.open_supervision(
                session,
                supervisor,
                case_id,
                reason="群众反映强烈",
                feedback_due=date(2026, 3, 6),
                now=MARCH,
            )
    await assign(db, case_id)
    officer = await principal(db, "officer-urban")
    dept = await principal(db, "dept-zhujian")
    async with db.transaction() as session:
        with pytest.raises(Forbidden):
            await departments.open_supervision(
                session, officer, case_id, reason="督办", feedback_due=date(2026, 3, 6), now=MARCH
            )
        with pytest.raises(InvalidInput):
            await departments.open_supervision(
                session,
                supervisor,
                case_id,
                reason="督办",
                feedback_due=date(2026, 3, 2),
                now=MARCH,
            )
    async with db.transaction() as session:
        sup = await departments.open_supervision(
            session,
            supervisor,
            case_id,
            reason="群众反映强烈，请加快办理",
            feedback_due=date(2026, 3, 6),
            now=MARCH,
        )
        sup_id = sup.id
        case = await session.get_one(Case, case_id)
        assert await departments.overlays(session, case) == ["supervised"]
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="已有未反馈的督办"):
            await departments.open_supervision(
                session,
                supervisor,
                case_id,
                reason="再次督办",
                feedback_due=date(2026, 3, 6),
                now=MARCH,
            )
    other = await principal(db, "dept-renshe")
    async with db.transaction() as session:
        with pytest.raises(Forbidden):
            await departments.record_feedback(session, other, sup_id, text="已办理", now=MARCH)
    late = datetime(2026, 3, 9, 2, 0, tzinfo=MARCH.tzinfo)
    async with db.transaction() as session:
        done = await departments.record_feedback(
            session, dept, sup_id, text="已约谈信访人，正在核实", now=late
        )
        assert done.feedback_at == late
        case = await session.get_one(Case, case_id)
        assert await departments.overlays(session, case) == []
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="已反馈"):
            await departments.record_feedback(session, dept, sup_id, text="再次反馈", now=late)
    feedback = [e for e in await events(db, case_id) if e.kind == "supervision_feedback"]
    assert feedback[0].data == {"supervision_id": sup_id, "late": True}


async def test_a_leader_owns_a_case(db: Database) -> None:
    case_id = await new_case(db, 6)
    leader = await principal(db, "leader")
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        with pytest.raises(Forbidden):
            await departments.own_case(session, officer, case_id, now=MARCH)
    async with db.transaction() as session:
        case = await departments.own_case(session, leader, case_id, now=MARCH)
        assert case.leader_id == leader.user_id
        assert await departments.overlays(session, case) == ["leader_owned"]
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="已由领导包案"):
            await departments.own_case(session, leader, case_id, now=MARCH)
    assert (await events(db, case_id))[-1].kind == "leader_owned"


async def test_routing_again_takes_the_case_from_the_department(db: Database) -> None:
    case_id = await new_case(db, 7)
    await assign(db, case_id)
    officer = await principal(db, "officer-urban")
    dept = await principal(db, "dept-zhujian")
    async with db.transaction() as session:
        await transition(session, officer, case_id, S.TRIAGED, reason="重新分流", now=MARCH)
    async with db.reader() as session:
        assert await cases.list_cases(session, dept) == []
        with pytest.raises(Forbidden):
            await cases.case_view(session, dept, case_id)


async def test_a_department_cannot_reclassify_nor_classify_as_accusation(db: Database) -> None:
    """A department classifies only what the bureau left unclassified, and never as 检举控告:
    a reply that changes the bureau's classification would strip a 检举控告 of its accused unit."""
    dept = await principal(db, "dept-zhujian")
    officer = await principal(db, "officer-urban")
    classified = await new_case(db, 20)
    await assign(db, classified)  # the bureau classified it: 申诉求决 (2)
    unclassified = await new_case(db, 21)
    async with db.transaction() as session:
        await transition(session, officer, unclassified, S.TRIAGED, reason="分流", now=MARCH)
    async with db.transaction() as session:
        await transition(
            session,
            officer,
            unclassified,
            S.ASSIGNED,
            reason="属住建局职责",
            now=MARCH,
            change=Change(department="zhujian"),
        )
    for case_id in (classified, unclassified):
        async with db.transaction() as session:
            await departments.acknowledge(session, dept, case_id, now=MARCH)
    before = len(await events(db, classified))
    for change in (Change(classification="suggestion"), Change(claim_type=5)):
        with pytest.raises(Conflict, match="已由信访部门分类") as refused:
            async with db.transaction() as session:
                await departments.reply(
                    session,
                    dept,
                    classified,
                    outcome="support",
                    text="已办",
                    now=MARCH,
                    change=change,
                )
        assert refused.value.code == "conflict"
    with pytest.raises(InvalidInput) as refused_accusation:
        async with db.transaction() as session:
            await departments.reply(
                session,
                dept,
                unclassified,
                outcome="support",
                text="已办",
                now=MARCH,
                change=Change(classification="accusation"),
            )
    assert "检举控告" in refused_accusation.value.fields["classification"]
    async with db.reader() as session:
        kept = await session.get_one(Case, classified)
        assert (kept.state, kept.classification, kept.claim_type) == (S.ASSIGNED, "claim", 2)
        assert (await session.get_one(Case, unclassified)).classification is None
    assert len(await events(db, classified)) == before  # nothing half-written
    async with db.transaction() as session:
        done = await departments.reply(
            session,
            dept,
            unclassified,
            outcome="support",
            text="已办",
            now=MARCH,
            change=Change(classification="claim", claim_type=3),
        )
        assert (done.case.state, done.case.classification) == (S.RESPONDED, "claim")
