"""The case timeline's hash chain detects an edited event; each reader sees its own events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from hall.accounts.users import Principal
from hall.cases.registration import register
from hall.cases.tables import CaseEvent, Visibility
from hall.cases.timeline import append_event, readable_events, verify_chain
from hall.db import Database
from hall.queue.tables import Channel
from tests.hall.cases.test_registration import GOOD
from tests.support import QS, T0, principal


async def test_edited_event_breaks_the_chain(db: Database) -> None:
    who = await principal(db, "desk")
    async with db.transaction() as session:
        done = await register(session, who, GOOD, channel=Channel.WALK_IN, now=T0, settings=QS)
        for i in range(3):
            await append_event(
                session,
                case_id=done.case.id,
                kind="note",
                at=T0 + timedelta(minutes=i),
                actor_id=who.user_id,
                visibility=Visibility.STAFF,
                data={"text": f"记录{i}"},
            )
    async with db.reader() as session:
        assert await verify_chain(session, done.case.id) == []
    async with db.transaction() as session:
        await session.execute(
            update(CaseEvent)
            .where(CaseEvent.case_id == done.case.id, CaseEvent.seq == 3)
            .values(data={"text": "篡改"})
        )
    async with db.reader() as session:
        breaks = await verify_chain(session, done.case.id)
        seqs = list(await session.scalars(select(CaseEvent.seq).order_by(CaseEvent.seq)))
    assert seqs == [1, 2, 3, 4]
    assert [(b.seq, b.reason) for b in breaks] == [(3, "content does not match its hash")]


async def test_a_department_is_shown_no_staff_only_kind_whatever_its_visibility(
    db: Database,
) -> None:
    desk = await principal(db, "desk")
    department = await principal(db, "dept-zhujian")
    board = await principal(db, "hall-board")
    stored = [
        ("note", Visibility.PETITIONER),  # a staff-only kind stored too widely stays staff-only
        ("note", Visibility.STAFF),
        ("visit_ended", Visibility.PETITIONER),
        ("ticket_transferred", Visibility.STAFF),
        ("department_acknowledged", Visibility.STAFF),
        ("accused_unit_recorded", Visibility.RESTRICTED),
        ("document_added", Visibility.PETITIONER),
    ]
    async with db.transaction() as session:
        done = await register(session, desk, GOOD, channel=Channel.WALK_IN, now=T0, settings=QS)
        for kind, visibility in stored:
            await append_event(
                session,
                case_id=done.case.id,
                kind=kind,
                at=T0,
                actor_id=desk.user_id,
                visibility=visibility,
                data={"text": "内部"},
            )
        events = list(
            await session.scalars(select(CaseEvent).where(CaseEvent.case_id == done.case.id))
        )

    def kinds(who: Principal, *, accusation: bool = False) -> list[str]:
        return [e.kind for e in readable_events(who, events, accusation=accusation)][1:]

    assert kinds(desk) == [k for k, v in stored if v != Visibility.RESTRICTED]
    assert kinds(department) == ["visit_ended", "department_acknowledged", "document_added"]
    assert kinds(department, accusation=True) == ["visit_ended", "department_acknowledged"]
    assert readable_events(board, events, accusation=False) == []
