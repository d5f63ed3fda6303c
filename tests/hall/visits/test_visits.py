"""Calling the next ticket, ending a visit, and concurrency of "call next"."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select

from hall.cases.registration import Registration, register
from hall.cases.timeline import verify_chain
from hall.db import Database
from hall.errors import Conflict, Forbidden, InvalidInput, QueueEmpty
from hall.queue import live, positions, queue
from hall.queue.tables import Channel, Ticket, TicketEvent
from hall.visits import visits
from hall.visits.tables import Visit
from tests.support import QS, T0, petition, principal


def reg(i: int, line: str = "urban") -> Registration:
    return petition(i, line, surname="王", id_stem="32010219750601", phone="13700000000")


async def enqueue(db: Database, n: int, line: str = "urban") -> list[Ticket]:
    who = await principal(db, "desk")
    tickets = []
    for i in range(n):
        async with db.transaction() as session:
            done = await register(
                session,
                who,
                reg(i, line),
                channel=Channel.WALK_IN,
                now=T0 + timedelta(seconds=i),
                settings=QS,
            )
        tickets.append(done.ticket)
    return tickets


async def test_call_next_takes_the_longest_waiting_ticket(db: Database) -> None:
    tickets = await enqueue(db, 3)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        called = await visits.call_next(
            session, officer, now=T0 + timedelta(minutes=5), settings=QS
        )
    assert called.ticket.id == tickets[0].id
    assert called.ticket.state == "serving"
    assert visits.media_room(called.visit.id) == f"visit-{called.visit.id}"
    async with db.reader() as session:
        second = await session.get_one(Ticket, tickets[1].id)
        pos = await positions.position(session, second, handle_s=600)
    assert (pos.position, pos.ahead, pos.estimate_s) == (1, 0, 0)


async def test_officer_only_calls_own_lines_and_empty_queue_is_clear(db: Database) -> None:
    await enqueue(db, 1, line="urban")
    legal = await principal(db, "officer-legal")
    with pytest.raises(QueueEmpty):
        async with db.transaction() as session:
            await visits.call_next(session, legal, now=T0, settings=QS)
    terminal = await principal(db, "village-zhangzhuang")
    with pytest.raises(Forbidden):
        async with db.transaction() as session:
            await visits.call_next(session, terminal, now=T0, settings=QS)


async def test_one_live_visit_per_officer(db: Database) -> None:
    await enqueue(db, 2)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        await visits.call_next(session, officer, now=T0, settings=QS)
    with pytest.raises(Conflict):
        async with db.transaction() as session:
            await visits.call_next(session, officer, now=T0, settings=QS)


async def test_two_officers_calling_at_once_get_different_tickets(db: Database) -> None:
    await enqueue(db, 2)
    first = await principal(db, "officer-urban")
    async with db.transaction() as session:
        user = await session.get_one(Ticket, 1)
        assert user.number == "C001"
    second = dataclasses.replace(first, user_id=first.user_id + 100)

    async def call(who: object) -> int:
        assert isinstance(who, type(first))
        async with db.transaction() as session:
            ticket = await queue.take_next(
                session, line_ids=who.line_ids, officer_id=who.user_id, now=T0, settings=QS
            )
            return ticket.id

    results = await asyncio.gather(call(first), call(second), return_exceptions=True)
    ids = [r for r in results if isinstance(r, int)]
    assert len(ids) == len(set(ids))
    async with db.reader() as session:
        answered = list(
            await session.scalars(select(TicketEvent).where(TicketEvent.kind == "answered"))
        )
    assert len(answered) == len(ids)


async def test_end_visit_records_outcome_notes_and_timeline(db: Database) -> None:
    await enqueue(db, 1)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        called = await visits.call_next(session, officer, now=T0, settings=QS)
    with pytest.raises(InvalidInput):
        async with db.transaction() as session:
            await visits.end_visit(
                session, officer, called.visit.id, outcome="shrug", notes="", now=T0, settings=QS
            )
    async with db.transaction() as session:
        visit, case = await visits.end_visit(
            session,
            officer,
            called.visit.id,
            outcome="accepted",
            notes="已登记，十个工作日内答复",
            now=T0 + timedelta(minutes=12),
            settings=QS,
        )
    assert visit.state == "ended"
    async with db.reader() as session:
        ticket = await session.get_one(Ticket, called.ticket.id)
        assert ticket.state == "done"
        assert await verify_chain(session, case.id) == []
        handle = await positions.average_handle_s(session, ticket.line_id, default_s=1)
    assert handle == 12 * 60
    with pytest.raises(Conflict):
        async with db.transaction() as session:
            await visits.end_visit(
                session, officer, called.visit.id, outcome="accepted", notes="", now=T0, settings=QS
            )


async def test_terminal_may_join_only_its_own_visit(db: Database) -> None:
    terminal = await principal(db, "village-zhangzhuang")
    other = await principal(db, "village-lijiawan")
    async with db.transaction() as session:
        done = await register(
            session, terminal, reg(1), channel=Channel.REMOTE, now=T0, settings=QS
        )
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        called = await visits.call_next(session, officer, now=T0, settings=QS)
    async with db.reader() as session:
        assert (await visits.may_join(session, terminal, called.visit.id)).id == called.visit.id
        assert (await visits.may_join(session, officer, called.visit.id)).id == called.visit.id
        with pytest.raises(Forbidden):
            await visits.may_join(session, other, called.visit.id)
        status = await live.ticket_status(session, terminal, done.ticket.id, handle_default_s=60)
    assert status["state"] == "serving"


async def test_restart_interrupts_live_visits(db: Database) -> None:
    await enqueue(db, 1)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        called = await visits.call_next(session, officer, now=T0, settings=QS)
    async with db.transaction() as session:
        assert await visits.interrupt_live(session, now=T0) == [called.visit.id]
    async with db.reader() as session:
        visit = await session.get_one(Visit, called.visit.id)
        ticket = await session.get_one(Ticket, called.ticket.id)
    assert (visit.state, ticket.state) == ("interrupted", "interrupted")


def test_wait_band_reads_like_a_person() -> None:
    assert live.wait_band(0) == "即将轮到您"
    assert live.wait_band(9 * 60) == "约 10 分钟内"
    assert live.wait_band(3 * 3600) == "约 1 小时以上"


async def test_ending_without_notes_keeps_the_saved_notes(db: Database) -> None:
    await enqueue(db, 1)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        called = await visits.call_next(session, officer, now=T0, settings=QS)
        await visits.save_notes(session, officer, called.visit.id, "已记录的内容")
    async with db.transaction() as session:
        visit, _ = await visits.end_visit(
            session, officer, called.visit.id, outcome="answered", notes=None, now=T0, settings=QS
        )
    assert visit.notes == "已记录的内容"


async def test_terminal_account_without_a_terminal_sees_no_ones_visits(db: Database) -> None:
    terminal = await principal(db, "village-zhangzhuang")
    async with db.transaction() as session:
        await register(session, terminal, reg(1), channel=Channel.REMOTE, now=T0, settings=QS)
    desk = await principal(db, "desk")
    async with db.transaction() as session:
        walk_in = await register(
            session, desk, reg(2), channel=Channel.WALK_IN, now=T0, settings=QS
        )
    unbound = dataclasses.replace(terminal, terminal_id=None)
    async with db.reader() as session:
        with pytest.raises(Forbidden):
            await live.ticket_status(session, unbound, walk_in.ticket.id, handle_default_s=60)
    with pytest.raises(Conflict, match="未绑定"):
        async with db.transaction() as session:
            await register(session, unbound, reg(3), channel=Channel.REMOTE, now=T0, settings=QS)
    officer = await principal(db, "officer-urban")
    for _ in range(2):  # the terminal's own visit, then the desk's walk-in
        async with db.transaction() as session:
            called = await visits.call_next(session, officer, now=T0, settings=QS)
        async with db.reader() as session:
            with pytest.raises(Forbidden):
                await visits.may_join(session, unbound, called.visit.id)
        async with db.transaction() as session:
            await visits.end_visit(
                session,
                officer,
                called.visit.id,
                outcome="answered",
                notes=None,
                now=T0,
                settings=QS,
            )
