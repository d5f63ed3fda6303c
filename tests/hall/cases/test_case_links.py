"""Merging and splitting case files with undo: B merged into A is shown from A and comes back
to its state on undo; a visit or a party split out into a new case goes back on undo; every
illegal step is a conflict naming the state, and every step is on both timelines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hall.cases import cases, links
from hall.cases.links import SplitItem
from hall.cases.registration import Registration, register
from hall.cases.states import Change, transition
from hall.cases.tables import Case, CaseEvent, CaseParty, CaseState
from hall.cases.timeline import verify_chain
from hall.db import Database
from hall.errors import Conflict, InvalidInput
from hall.queue.tables import Channel, Ticket
from hall.visits import visits
from hall.visits.tables import Visit
from tests.hall.cases.test_case_states import MARCH, PATHS, walk
from tests.hall.cases.test_parties import COLLECTIVE
from tests.support import QS, T0, principal, valid_id_number

S1 = timedelta(seconds=1)


async def open_case(db: Database, n: int, summary: str = "小区电梯长期故障无人维修") -> int:
    reg = Registration(
        name=f"案{n}",
        id_number=valid_id_number(f"41010219800202{n:03d}"),
        phone="13912345678",
        village_id=1,
        head_count=1,
        summary=summary,
        line_code="urban",
    )
    async with db.transaction() as session:
        done = await register(
            session, await principal(db, "desk"), reg, channel=Channel.WALK_IN, now=T0, settings=QS
        )
    return done.case.id


async def kinds(db: Database, case_id: int) -> list[str]:
    async with db.reader() as session:
        assert await verify_chain(session, case_id) == []
        rows = await session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
        )
        return list(rows)


async def test_merge_shows_b_from_a_and_undo_restores_its_state(db: Database) -> None:
    a, b = await open_case(db, 1), await open_case(db, 2)
    await walk(db, b, PATHS[CaseState.TRIAGED])
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        merged = await links.merge(session, officer, b, a, reason="同一事项", now=MARCH)
    assert (merged.state, merged.merged_into_id) == ("merged", a)
    async with db.reader() as session:
        view = await cases.case_view(session, officer, a)
    assert [c.id for c in view.merged_cases] == [b]
    # B's waiting ticket is served for A now: a merged case receives no more visits.
    assert [t.ticket.case_id for t in view.tickets] == [a, a]
    assert (await kinds(db, a))[-1] == "case_merged_in"
    async with db.transaction() as session:
        back = await links.undo_merge(session, officer, b, reason="误合并", now=MARCH + S1)
    assert (back.state, back.merged_into_id) == ("triaged", None)
    async with db.reader() as session:  # and goes back with the undo
        last = await session.scalar(select(Ticket.case_id).order_by(Ticket.id.desc()))
        assert last == b
    assert (await kinds(db, a))[-1] == "case_unmerged"
    assert (await kinds(db, b))[-2:] == ["state_changed", "state_changed"]
    with pytest.raises(Conflict, match="当前状态为 triaged"):
        async with db.transaction() as session:
            await links.undo_merge(session, officer, b, reason="再撤销", now=MARCH + S1)


async def test_illegal_merges_are_conflicts_naming_the_state(db: Database) -> None:
    a, b, c = await open_case(db, 1), await open_case(db, 2), await open_case(db, 3)
    officer = await principal(db, "officer-urban")

    async def merge(case_id: int, into: int) -> None:
        async with db.transaction() as session:
            await links.merge(session, officer, case_id, into, reason="合并", now=MARCH)

    with pytest.raises(Conflict, match="并入其自身"):
        await merge(a, a)
    await merge(b, a)
    with pytest.raises(Conflict, match="当前状态为 merged"):
        await merge(c, b)  # into a merged case
    with pytest.raises(Conflict, match="当前状态为 merged"):
        await merge(b, c)  # merging twice
    await walk(db, c, PATHS[CaseState.CLOSED])
    with pytest.raises(Conflict, match="当前状态为 closed"):
        await merge(c, a)
    with pytest.raises(Conflict, match="目标事项 .* 当前状态为 closed"):
        await merge(a, c)
    with pytest.raises(InvalidInput) as caught:  # the generic step needs the merge's target
        async with db.transaction() as session:
            await transition(session, officer, a, "merged", reason="合并", now=MARCH)
    assert "merged_into" in caught.value.fields
    async with db.reader() as session:
        assert (await session.get_one(Case, a)).state == "registered"


async def test_split_a_visit_out_and_undo(db: Database) -> None:
    source = await open_case(db, 1)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        called = await visits.call_next(session, officer, now=T0 + S1, settings=QS)
    with pytest.raises(Conflict, match="正在进行"):
        async with db.transaction() as session:
            await links.split(
                session,
                officer,
                source,
                SplitItem(visit_id=called.visit.id),
                summary="另一事项：物业费争议",
                reason="不同事项",
                now=T0 + S1,
            )
    async with db.transaction() as session:
        await visits.end_visit(
            session,
            officer,
            called.visit.id,
            outcome="answered",
            notes="",
            now=T0 + 2 * S1,
            settings=QS,
        )
    async with db.transaction() as session:
        new = await links.split(
            session,
            officer,
            source,
            SplitItem(visit_id=called.visit.id),
            summary="另一事项：物业费争议",
            reason="不同事项",
            now=T0 + 3 * S1,
        )
    async with db.reader() as session:
        visit = await session.get_one(Visit, called.visit.id)
        ticket = await session.get_one(Ticket, visit.ticket_id)
    assert (visit.case_id, ticket.case_id, new.split_from_id) == (new.id, new.id, source)
    assert new.summary == "另一事项：物业费争议" and new.number.startswith("JF")
    assert (await kinds(db, source))[-1] == "case_split"
    assert await kinds(db, new.id) == ["registered", "split_from"]
    async with db.transaction() as session:
        undone = await links.undo_split(session, officer, new.id, reason="拆错了", now=T0 + 4 * S1)
    assert (undone.state, undone.merged_into_id) == ("merged", source)
    async with db.reader() as session:
        assert (await session.get_one(Visit, called.visit.id)).case_id == source
    assert (await kinds(db, source))[-1] == "split_undone"
    assert (await kinds(db, new.id))[-1] == "state_changed"  # registered → merged
    with pytest.raises(Conflict, match="当前状态为 merged"):
        async with db.transaction() as session:
            await links.undo_split(session, officer, new.id, reason="再撤销", now=T0 + 5 * S1)


async def test_split_a_representative_out_and_undo(db: Database) -> None:
    async with db.transaction() as session:
        desk = await principal(db, "desk")
        done = await register(
            session, desk, COLLECTIVE, channel=Channel.WALK_IN, now=T0, settings=QS
        )
    officer = await principal(db, "officer-grassroots")
    async with db.reader() as session:
        parties = list(
            await session.scalars(select(CaseParty).where(CaseParty.case_id == done.case.id))
        )
    petitioner = next(p for p in parties if p.role == "petitioner")
    representative = next(p for p in parties if p.role == "representative")
    with pytest.raises(Conflict, match="信访人本人"):
        async with db.transaction() as session:
            await links.split(
                session,
                officer,
                done.case.id,
                SplitItem(party_id=petitioner.id),
                summary="个人事项",
                reason="另案处理",
                now=T0 + S1,
            )
    async with db.transaction() as session:
        new = await links.split(
            session,
            officer,
            done.case.id,
            SplitItem(party_id=representative.id),
            summary="个人宅基地纠纷",
            reason="另案处理",
            now=T0 + S1,
        )
    async with db.reader() as session:
        moved = await session.get_one(CaseParty, representative.id)
    assert (moved.case_id, moved.role, new.petitioner_id) == (
        new.id,
        "petitioner",
        representative.petitioner_id,
    )
    async with db.transaction() as session:
        await links.undo_split(session, officer, new.id, reason="撤销拆分", now=T0 + 2 * S1)
    async with db.reader() as session:
        back = await session.get_one(CaseParty, representative.id)
    assert (back.case_id, back.role) == (done.case.id, "representative")


async def test_a_split_case_worked_on_cannot_be_undone(db: Database) -> None:
    source = await open_case(db, 1)
    async with db.reader() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.case_id == source))
    assert ticket is not None
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        new = await links.split(
            session,
            officer,
            source,
            SplitItem(ticket_id=ticket.id),
            summary="另一事项",
            reason="不同事项",
            now=T0 + S1,
        )
    async with db.transaction() as session:
        await transition(
            session, officer, new.id, "triaged", reason="分流", now=MARCH, change=Change()
        )
    with pytest.raises(Conflict, match="当前状态为 triaged"):
        async with db.transaction() as session:
            await links.undo_split(session, officer, new.id, reason="撤销", now=MARCH)
    with pytest.raises(InvalidInput):
        async with db.transaction() as session:
            await links.split(
                session, officer, source, SplitItem(), summary="x", reason="不同事项", now=MARCH
            )
