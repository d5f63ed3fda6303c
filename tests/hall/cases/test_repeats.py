"""Repeat detection (重信重访): Chinese summaries compared by character bigrams; the same person
(petitioner or representative) on the same line within the period is a candidate; the
registrar links the visit or confirms a new matter, and the choice is on the timeline."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from hall import demo
from hall.cases.parties import Person
from hall.cases.registration import Registered, Registration, RepeatDecision, register
from hall.cases.repeats import similarity
from hall.cases.tables import Case, CaseEvent
from hall.cases.timeline import verify_chain
from hall.db import Database, migrate
from hall.errors import InvalidInput, RepeatCandidates
from hall.queue import presence
from hall.queue.tables import Channel, Ticket
from hall.settings import CaseSettings
from tests.support import QS, T0, principal, valid_id_number
from tests.web.test_cli import pg_url  # noqa: F401 - the PostgreSQL database fixture

FIRST = Registration(
    name="孙七",
    id_number=valid_id_number("41010219650303123"),
    phone="13912345678",
    village_id=1,
    head_count=1,
    summary="村里拖欠我家的土地征收补偿款三万元，请求尽快发放",
    line_code="grassroots",
)
AGAIN = "土地征收补偿款三万元村里一直拖欠，请求尽快发放"
OTHER_MATTER = "小区物业乱收停车费，请求查处"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("宅基地确权纠纷，请求协调", "宅基地确权纠纷，请求尽快协调解决"),
        (FIRST.summary, AGAIN),
        ("反映小区电梯长期故障无人维修", "小区电梯长期故障，物业无人维修，请求督促"),
    ],
)
def test_near_duplicate_chinese_summaries_are_similar(a: str, b: str) -> None:
    assert similarity(a, b) >= CaseSettings().repeat_similarity


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("宅基地确权纠纷，请求协调", "拖欠工程款，请求协调解决"),
        (FIRST.summary, OTHER_MATTER),
        ("反映小区电梯长期故障无人维修", "反映小区停车位被占用无人管理"),
    ],
)
def test_different_matters_are_not_similar(a: str, b: str) -> None:
    assert similarity(a, b) < CaseSettings().repeat_similarity


def test_punctuation_and_spaces_do_not_count() -> None:
    assert similarity("拖欠 工资，请求 处理！", "拖欠工资请求处理") == 1.0
    assert similarity("", "拖欠工资") == 0.0


async def file(db: Database, reg: Registration, now: datetime, who: str = "desk") -> Registered:
    """Register, then let the visitor leave the queue (so the person may come again)."""
    actor = await principal(db, who)
    async with db.transaction() as session:
        done = await register(session, actor, reg, channel=Channel.WALK_IN, now=now, settings=QS)
    async with db.transaction() as session:
        await presence.leave_queue(session, await principal(db, "desk"), done.ticket.id, now=now)
    return done


async def candidates_for(db: Database, reg: Registration, now: datetime) -> list[dict[str, object]]:
    """The candidates a registration is refused with (empty when it goes through)."""
    try:
        await file(db, reg, now)
    except RepeatCandidates as exc:
        found: list[dict[str, object]] = exc.details["candidates"]
        return found
    return []


async def test_same_person_similar_matter_same_line_is_a_candidate(db: Database) -> None:
    first = await file(db, FIRST, T0)
    again = dataclasses.replace(FIRST, summary=AGAIN)
    found = await candidates_for(db, again, T0 + timedelta(days=10))
    assert [c["number"] for c in found] == [first.case.number]
    candidate = found[0]
    assert candidate["line"] == "grassroots" and candidate["state"] == "registered"
    assert candidate["matched_role"] == "petitioner"
    assert candidate["registered_on"] == "2026-11-02"
    assert 0.5 <= float(str(candidate["similarity"])) < 1
    async with db.reader() as session:  # refused: nothing of the second visit was stored
        assert await session.scalar(select(func.count()).select_from(Case)) == 1
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_a_different_matter_another_line_or_an_old_case_is_not(db: Database) -> None:
    await file(db, FIRST, T0)
    later = T0 + timedelta(days=1)
    assert await candidates_for(db, dataclasses.replace(FIRST, summary=OTHER_MATTER), later) == []
    other_line = dataclasses.replace(FIRST, summary=AGAIN, line_code="urban")
    assert await candidates_for(db, other_line, later) == []
    outside = T0 + timedelta(days=CaseSettings().repeat_days, hours=1)
    assert await candidates_for(db, dataclasses.replace(FIRST, summary=AGAIN), outside) == []


async def test_another_person_is_not_a_candidate(db: Database) -> None:
    await file(db, FIRST, T0)
    stranger = dataclasses.replace(
        FIRST, id_number=valid_id_number("41010219650303456"), summary=AGAIN
    )
    assert await candidates_for(db, stranger, T0 + timedelta(days=1)) == []


async def test_a_representative_of_an_earlier_collective_visit_matches(db: Database) -> None:
    representative = Person(
        name="周八", id_number=valid_id_number("41010219720606123"), phone="13600136000"
    )
    collective = dataclasses.replace(
        FIRST, head_count=12, collective=True, representatives=(representative,)
    )
    first = await file(db, collective, T0)
    # 周八 comes back alone, as the petitioner this time.
    alone = dataclasses.replace(
        FIRST,
        name=representative.name,
        id_number=representative.id_number,
        phone=representative.phone,
        summary=AGAIN,
    )
    found = await candidates_for(db, alone, T0 + timedelta(days=3))
    assert [(c["number"], c["matched_role"]) for c in found] == [
        (first.case.number, "representative")
    ]


async def test_linking_puts_the_ticket_on_the_earlier_case_with_a_timeline_event(
    db: Database,
) -> None:
    first = await file(db, FIRST, T0, who="village-zhangzhuang")
    again = dataclasses.replace(FIRST, summary=AGAIN, repeat=RepeatDecision(link=first.case.id))
    done = await file(db, again, T0 + timedelta(days=5), who="village-zhangzhuang")
    assert done.linked and done.case.id == first.case.id
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 1
        ticket = await session.get_one(Ticket, done.ticket.id)
        event = await session.scalar(select(CaseEvent).where(CaseEvent.kind == "repeat_linked"))
        assert await verify_chain(session, first.case.id) == []
    assert ticket.case_id == first.case.id
    assert event is not None and event.case_id == first.case.id
    assert event.data["summary"] == AGAIN and event.data["ticket"] == ticket.number
    assert event.actor_id == (await principal(db, "village-zhangzhuang")).user_id
    assert (event.visibility, event.at) == ("staff", T0 + timedelta(days=5))


async def test_confirming_a_new_matter_records_the_candidates_it_overrode(db: Database) -> None:
    first = await file(db, FIRST, T0)
    again = dataclasses.replace(FIRST, summary=AGAIN, repeat=RepeatDecision(seen=(first.case.id,)))
    done = await file(db, again, T0 + timedelta(days=5))
    assert not done.linked and done.case.id != first.case.id
    async with db.reader() as session:
        event = await session.scalar(
            select(CaseEvent).where(
                CaseEvent.case_id == done.case.id, CaseEvent.kind == "repeat_overridden"
            )
        )
    assert event is not None
    assert [c["number"] for c in event.data["candidates"]] == [first.case.number]
    assert event.actor_id == (await principal(db, "desk")).user_id


async def test_a_decision_must_answer_the_current_candidates(db: Database) -> None:
    first = await file(db, FIRST, T0)
    later = T0 + timedelta(days=2)
    unseen = dataclasses.replace(FIRST, summary=AGAIN, repeat=RepeatDecision(seen=()))
    assert [c["case_id"] for c in await candidates_for(db, unseen, later)] == [first.case.id]
    wrong = dataclasses.replace(
        FIRST, summary=AGAIN, repeat=RepeatDecision(link=first.case.id + 99)
    )
    with pytest.raises(InvalidInput) as caught:
        async with db.transaction() as session:
            await register(
                session,
                await principal(db, "desk"),
                wrong,
                channel=Channel.WALK_IN,
                now=later,
                settings=QS,
            )
    assert "repeat_decision.link" in caught.value.fields


async def events_of(db: Database, case_id: int, kind: str) -> list[CaseEvent]:
    async with db.reader() as session:
        rows = await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == kind)
        )
        return list(rows)


async def test_a_terminal_is_shown_only_its_stations_cases(db: Database) -> None:
    elsewhere = await file(db, FIRST, T0, who="village-lijiawan")
    again = dataclasses.replace(FIRST, summary=AGAIN)
    later = T0 + timedelta(days=1)
    # Another station's case is not disclosed: the visit goes ahead as a new case, flagged
    # for the bureau with the candidate it was not shown.
    done = await file(db, again, later, who="village-zhangzhuang")
    assert not done.linked and done.case.id != elsewhere.case.id
    [flag] = await events_of(db, done.case.id, "repeat_flagged")
    assert flag.visibility == "staff"
    assert [c["number"] for c in flag.data["candidates"]] == [elsewhere.case.number]
    # The desk is shown both.
    found = await candidates_for(db, again, later + timedelta(hours=1))
    assert {c["case_id"] for c in found} == {elsewhere.case.id, done.case.id}


async def test_an_accusation_is_never_listed_to_a_terminal(db: Database) -> None:
    own = await file(db, FIRST, T0, who="village-zhangzhuang")
    async with db.transaction() as session:
        (await session.get_one(Case, own.case.id)).classification = "accusation"
    again = dataclasses.replace(FIRST, summary=AGAIN)
    done = await file(db, again, T0 + timedelta(days=1), who="village-zhangzhuang")
    assert not done.linked
    [flag] = await events_of(db, done.case.id, "repeat_flagged")
    assert [c["case_id"] for c in flag.data["candidates"]] == [own.case.id]


async def test_an_ended_case_is_shown_but_only_overridden(db: Database) -> None:
    first = await file(db, FIRST, T0)
    async with db.transaction() as session:
        (await session.get_one(Case, first.case.id)).state = "closed"
    later = T0 + timedelta(days=2)
    [candidate] = await candidates_for(db, dataclasses.replace(FIRST, summary=AGAIN), later)
    assert (candidate["state"], candidate["linkable"]) == ("closed", False)
    link = dataclasses.replace(FIRST, summary=AGAIN, repeat=RepeatDecision(link=first.case.id))
    with pytest.raises(InvalidInput, match="不能并入") as caught:
        await file(db, link, later)
    assert "repeat_decision.link" in caught.value.fields
    new = dataclasses.replace(FIRST, summary=AGAIN, repeat=RepeatDecision(seen=(first.case.id,)))
    done = await file(db, new, later)
    [overridden] = await events_of(db, done.case.id, "repeat_overridden")
    assert [c["case_id"] for c in overridden.data["candidates"]] == [first.case.id]


async def test_linking_a_collective_visit_records_the_new_flag(db: Database) -> None:
    first = await file(db, FIRST, T0)
    representative = Person(
        name="周八", id_number=valid_id_number("41010219720606123"), phone="13600136000"
    )
    group = dataclasses.replace(
        FIRST,
        summary=AGAIN,
        head_count=8,
        collective=True,
        representatives=(representative,),
        repeat=RepeatDecision(link=first.case.id),
    )
    await file(db, group, T0 + timedelta(days=1))
    [linked] = await events_of(db, first.case.id, "repeat_linked")
    assert linked.data["marked_collective"] is True
    async with db.reader() as session:
        assert (await session.get_one(Case, first.case.id)).collective is True


async def test_repeat_detection_and_linking_on_postgresql(pg_url: str) -> None:  # noqa: F811
    await migrate(pg_url)
    db = Database(pg_url)
    try:
        async with db.transaction() as session:
            await demo.ensure_reference_data(session)
            await demo.seed_demo(session, now=T0)
        first = await file(db, FIRST, T0)
        again = dataclasses.replace(FIRST, summary=AGAIN)
        later = T0 + timedelta(days=10)
        found = await candidates_for(db, again, later)
        assert [c["case_id"] for c in found] == [first.case.id]
        linked = dataclasses.replace(again, repeat=RepeatDecision(link=first.case.id))
        done = await file(db, linked, later)
        assert done.linked and done.case.id == first.case.id
        # The period runs from the case's latest activity: the linked visit.
        outside = later + timedelta(days=CaseSettings().repeat_days, hours=1)
        assert await candidates_for(db, again, outside) == []
    finally:
        await db.close()
