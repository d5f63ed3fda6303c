"""The case timeline's hash chain detects an edited event."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from hall.db import Database
from hall.model import CaseEvent, Channel, Visibility
from hall.registration import register
from hall.timeline import append_event, verify_chain
from tests.hall.test_registration import GOOD
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
