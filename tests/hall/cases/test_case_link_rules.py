"""The rules around merging and splitting that keep a case file with the people who may read
it: a merged 检举控告 never reaches the accused unit, merged cases of another line stay hidden,
a merged case receives no more visits, undo steps check where things are now, and two merges
at once cannot form a cycle."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from hall import demo
from hall.cases import cases, links
from hall.cases.links import SplitItem
from hall.cases.parties import add_party
from hall.cases.states import Change
from hall.cases.tables import Case, CaseEvent, CaseParty, CaseState, PartyRole
from hall.db import Database, migrate
from hall.errors import AccusedUnit, Conflict, Forbidden
from hall.queue.tables import Ticket
from hall.visits import visits
from tests.hall.cases.test_case_links import open_case
from tests.hall.cases.test_case_states import MARCH, PATHS, new_case, walk
from tests.support import QS, T0, principal
from tests.web import test_cli

S1 = timedelta(seconds=1)
pg_url = test_cli.pg_url  # a fresh PostgreSQL database (skipped when none is reachable)
ACCUSE_ZHUJIAN = Change(classification="accusation", accused_department="zhujian")


async def merge(db: Database, who: str, case_id: int, into: int) -> Case:
    async with db.transaction() as session:
        return await links.merge(
            session, await principal(db, who), case_id, into, reason="同一事项", now=MARCH
        )


async def split_ticket(db: Database, case_id: int, ticket_id: int) -> Case:
    async with db.transaction() as session:
        return await links.split(
            session,
            await principal(db, "officer-urban"),
            case_id,
            SplitItem(ticket_id=ticket_id),
            summary="另一事项",
            reason="不同事项",
            now=MARCH,
        )


async def undo_split(db: Database, case_id: int) -> Case:
    async with db.transaction() as session:
        return await links.undo_split(
            session, await principal(db, "officer-urban"), case_id, reason="撤销拆分", now=MARCH
        )


async def serve(db: Database, notes: str = "") -> visits.Called:
    """The urban officer calls the next ticket and ends the visit with `notes`."""
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        called = await visits.call_next(session, officer, now=T0 + S1, settings=QS)
    async with db.transaction() as session:
        await visits.end_visit(
            session,
            officer,
            called.visit.id,
            outcome="answered",
            notes=notes,
            now=T0 + 2 * S1,
            settings=QS,
        )
    return called


async def ticket_of(db: Database, case_id: int) -> int:
    async with db.reader() as session:
        found = await session.scalar(select(Ticket.id).where(Ticket.case_id == case_id))
    assert found is not None
    return found


async def test_an_accusation_is_not_merged_into_a_case_of_the_accused_unit(db: Database) -> None:
    a, b = await open_case(db, 1), await open_case(db, 2)
    await walk(db, b, [(CaseState.TRIAGED, ACCUSE_ZHUJIAN)])
    await walk(db, a, PATHS[CaseState.TRANSFERRED])  # A is with 住建 now
    with pytest.raises(AccusedUnit, match="不得并入被检举控告单位办理的事项"):
        await merge(db, "leader", b, a)
    async with db.reader() as session:
        assert (await session.get_one(Case, b)).state == "triaged"


async def test_a_case_holding_a_merged_accusation_is_not_routed_to_the_accused_unit(
    db: Database,
) -> None:
    a, b = await open_case(db, 1), await open_case(db, 2)
    await walk(db, b, [(CaseState.TRIAGED, ACCUSE_ZHUJIAN)])
    await merge(db, "leader", b, a)  # A is with no department yet: allowed
    with pytest.raises(AccusedUnit, match="并入本事项的检举控告"):
        await walk(db, a, PATHS[CaseState.TRANSFERRED])  # to 住建, the unit B accuses
    async with db.reader() as session:
        assert (await session.get_one(Case, a)).department_id is None
    await walk(db, a, PATHS[CaseState.ASSIGNED][-1:])  # another unit may take it


async def test_a_merged_accusation_never_reaches_a_department(db: Database) -> None:
    a, b = await open_case(db, 1), await open_case(db, 2)
    await walk(db, b, [(CaseState.TRIAGED, ACCUSE_ZHUJIAN)])
    await walk(db, a, PATHS[CaseState.ASSIGNED])  # A is with 人社, not the accused unit
    await merge(db, "leader", b, a)
    async with db.reader() as session:
        department = await cases.case_view(session, await principal(db, "dept-renshe"), a)
        leader = await cases.case_view(session, await principal(db, "leader"), a)
    assert department.merged_cases == []
    assert [c.id for c in leader.merged_cases] == [b]


async def test_another_lines_merged_case_stays_hidden_from_the_officer(db: Database) -> None:
    a, b = await new_case(db, 1, line="legal"), await open_case(db, 2)
    with pytest.raises(Forbidden):  # an officer of one line cannot merge across lines
        await merge(db, "officer-urban", b, a)
    await merge(db, "leader", b, a)
    async with db.reader() as session:
        legal = await cases.case_view(session, await principal(db, "officer-legal"), a)
        leader = await cases.case_view(session, await principal(db, "leader"), a)
    assert legal.merged_cases == [] and [c.id for c in leader.merged_cases] == [b]
    # Undoing needs a caller of both cases too.
    with pytest.raises(Forbidden):
        async with db.transaction() as session:
            await links.undo_merge(
                session, await principal(db, "officer-urban"), b, reason="误合并", now=MARCH
            )


async def test_a_department_reads_merged_visits_without_the_notes(db: Database) -> None:
    b = await open_case(db, 2)
    called = await serve(db, "信访人情绪激动，另有隐情")
    officer = await principal(db, "officer-urban")
    a = await open_case(db, 1)
    await walk(db, a, PATHS[CaseState.TRANSFERRED])
    await merge(db, "officer-urban", b, a)
    async with db.reader() as session:
        department = await cases.case_view(session, await principal(db, "dept-zhujian"), a)
        staff = await cases.case_view(session, officer, a)
    assert [(v.visit.id, v.notes) for v in department.visits] == [(called.visit.id, "")]
    assert [v.notes for v in staff.visits] == ["信访人情绪激动，另有隐情"]


async def test_a_merge_moves_waiting_tickets_and_waits_for_a_live_visit(db: Database) -> None:
    b = await open_case(db, 2)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        live = await visits.call_next(session, officer, now=T0 + S1, settings=QS)
    a = await open_case(db, 1)
    with pytest.raises(Conflict, match="正在进行"):
        await merge(db, "officer-urban", b, a)
    async with db.transaction() as session:
        await visits.end_visit(
            session, officer, live.visit.id, outcome="answered", notes="", now=T0, settings=QS
        )
    c = await open_case(db, 3)  # waiting when it is merged
    waiting = await ticket_of(db, c)
    await merge(db, "officer-urban", c, a)
    async with db.reader() as session:
        assert (await session.get_one(Ticket, waiting)).case_id == a
        event = await session.scalar(
            select(CaseEvent).where(CaseEvent.case_id == a).order_by(CaseEvent.seq.desc())
        )
    assert event is not None and event.kind == "case_merged_in"
    assert [t["id"] for t in event.data["tickets"]] == [waiting]
    assert (await serve(db)).case.id == a  # A's own ticket first
    called = await serve(db)  # then C's: its visit is A's
    assert (called.ticket.id, called.visit.case_id, called.case.id) == (waiting, a, a)


async def test_undo_split_refuses_a_ticket_split_on_again(db: Database) -> None:
    a = await open_case(db, 1)
    n = await split_ticket(db, a, await ticket_of(db, a))
    n2 = await split_ticket(db, n.id, await ticket_of(db, n.id))
    with pytest.raises(Conflict, match=f"现属于信访事项 {n2.number}"):
        await undo_split(db, n.id)
    async with db.reader() as session:
        assert (await session.get_one(Ticket, await ticket_of(db, n2.id))).case_id == n2.id


async def test_undo_split_refuses_a_person_who_is_a_party_again(db: Database) -> None:
    a = await open_case(db, 1)
    async with db.reader() as session:
        person = await session.scalar(select(Case.petitioner_id).where(Case.id == a))
    b = await open_case(db, 2)
    async with db.transaction() as session:  # B's petitioner also a representative of A
        other = await session.scalar(select(Case.petitioner_id).where(Case.id == b))
        assert other is not None and person is not None
        party = await add_party(session, a, PartyRole.REPRESENTATIVE, now=T0, petitioner_id=other)
        assert party is not None
    async with db.transaction() as session:
        new = await links.split(
            session,
            await principal(db, "officer-urban"),
            a,
            SplitItem(party_id=party.id),
            summary="个人事项",
            reason="另案处理",
            now=MARCH,
        )
    async with db.transaction() as session:  # a later registration adds the person again
        await add_party(session, a, PartyRole.REPRESENTATIVE, now=MARCH, petitioner_id=other)
    with pytest.raises(Conflict, match="已重新登记为原事项"):
        await undo_split(db, new.id)
    async with db.reader() as session:
        assert (await session.get_one(CaseParty, party.id)).case_id == new.id


async def test_the_merge_of_an_undone_split_cannot_be_undone(db: Database) -> None:
    a = await open_case(db, 1)
    n = await split_ticket(db, a, await ticket_of(db, a))
    undone = await undo_split(db, n.id)
    assert (undone.state, undone.merged_into_id) == ("merged", a)
    with pytest.raises(Conflict, match="撤销拆分"):
        async with db.transaction() as session:
            await links.undo_merge(
                session, await principal(db, "officer-urban"), n.id, reason="撤销", now=MARCH
            )


async def test_merged_cases_end_even_if_the_rows_form_a_cycle(db: Database) -> None:
    a, b = await open_case(db, 1), await open_case(db, 2)
    async with db.transaction() as session:  # rows as two racing merges could leave them
        (await session.get_one(Case, a)).merged_into_id = b
        (await session.get_one(Case, b)).merged_into_id = a
    async with db.reader() as session:
        found = await cases.merged_into_case(session, a)
    assert [c.id for c in found] == [b]


async def test_a_case_is_not_merged_into_one_merged_into_it(db: Database) -> None:
    a, b = await open_case(db, 1), await open_case(db, 2)
    async with db.transaction() as session:  # A still open, but pointing at B
        (await session.get_one(Case, a)).merged_into_id = b
    with pytest.raises(Conflict, match="已并入本事项"):
        await merge(db, "officer-urban", b, a)


async def test_reciprocal_merges_at_once_on_postgresql(pg_url: str) -> None:
    """B into A and A into B in two transactions at once: the row locks serialise them, so
    the second sees the first's merge and is refused."""
    await migrate(pg_url)
    db = Database(pg_url)
    try:
        async with db.transaction() as session:
            await demo.ensure_reference_data(session)
            await demo.seed_demo(session, now=T0)
        a, b = await open_case(db, 1), await open_case(db, 2)
        officer = await principal(db, "officer-urban")
        locked, release = asyncio.Event(), asyncio.Event()

        async def first() -> None:
            async with db.transaction() as session:
                await links.merge(session, officer, b, a, reason="同一事项", now=MARCH)
                locked.set()
                await release.wait()

        async def second() -> None:
            async with db.transaction() as session:
                await links.merge(session, officer, a, b, reason="同一事项", now=MARCH)

        one = asyncio.create_task(first())
        await asyncio.wait_for(locked.wait(), 10)  # B into A holds its locks, uncommitted
        two = asyncio.create_task(second())
        deadline = time.monotonic() + 10
        async with db.reader() as session:  # A into B waits for them
            query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            while not await session.scalar(query):
                assert time.monotonic() < deadline, "the second merge never waited for a lock"
                await asyncio.sleep(0.01)
                await session.rollback()
        release.set()
        await one
        with pytest.raises(Conflict, match="当前状态为 merged"):
            await two
        async with db.reader() as session:
            rows = {c.id: c.merged_into_id for c in await session.scalars(select(Case))}
        assert (rows[a], rows[b]) == (None, a)
    finally:
        await db.close()
