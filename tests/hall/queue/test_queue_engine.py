"""The queue engine on a real SQLite file: missed calls and no-shows, transfers and undo,
recusal, the first handler's wait, the grace window, auto-offers, officers' states, the quota."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select

from hall.accounts.tables import Role
from hall.accounts.users import Principal, add_user
from hall.cases.registration import Registration, RepeatDecision, register
from hall.db import Database
from hall.errors import Conflict, Forbidden, InvalidInput, QueueEmpty
from hall.queue import offers, officers, positions, presence, sql, tickets
from hall.queue.tables import Channel, Line, OfficerState, Ticket, TicketEvent
from hall.settings import QueueSettings
from hall.visits import visits
from hall.visits.tables import Visit
from tests.support import QS, T0, petition, principal

S = timedelta(seconds=1)


def reg(i: int, line: str = "urban", klass: str = "normal") -> Registration:
    return petition(i, line, klass, surname="孙", id_stem="44010219700101", phone="13500000000")


async def enqueue(
    db: Database, n: int, *, line: str = "urban", first: int = 0, who: str = "desk"
) -> list[Ticket]:
    """`n` walk-ins (or remote tickets for a terminal `who`), one second apart from T0."""
    actor = await principal(db, who)
    channel = Channel.REMOTE if actor.role == Role.TERMINAL else Channel.WALK_IN
    out = []
    for i in range(first, first + n):
        async with db.transaction() as session:
            done = await register(
                session, actor, reg(i, line), channel=channel, now=T0 + i * S, settings=QS
            )
        out.append(done.ticket)
    return out


async def second_officer(db: Database, username: str = "officer-urban-2") -> Principal:
    async with db.transaction() as session:
        await add_user(
            session,
            username=username,
            password="jiefang-demo",
            role=Role.OFFICER,
            display_name="城建接访员二",
            now=T0,
            line_codes=("urban",),
        )
    return await principal(db, username)


async def order(db: Database, line: str = "urban") -> list[int]:
    async with db.reader() as session:
        line_id = await session.scalar(select(Line.id).where(Line.code == line))
        assert line_id is not None
        return [t.id for t in await positions.waiting(session, [line_id])]


async def kinds(db: Database, ticket_id: int) -> list[str]:
    async with db.reader() as session:
        return [e.kind for e in await tickets.events_of(session, ticket_id)]


async def call(db: Database, officer: Principal, at: int = 60) -> visits.Called:
    async with db.transaction() as session:
        return await visits.call_next(session, officer, now=T0 + at * S, settings=QS)


async def get(db: Database, ticket_id: int) -> Ticket:
    async with db.reader() as session:
        return await session.get_one(Ticket, ticket_id)


# -- missed calls, no-shows, reactivation -------------------------------------------------------


async def test_missed_call_moves_back_k_places_then_no_show_then_reactivated(db: Database) -> None:
    made = await enqueue(db, 5)
    ids = [t.id for t in made]
    officer = await principal(db, "officer-urban")
    called = await call(db, officer)
    assert called.ticket.id == ids[0]
    async with db.transaction() as session:
        missed = await tickets.miss(session, officer, called.visit.id, now=T0 + 90 * S, settings=QS)
    assert (missed.no_show, missed.ticket.state) == (False, "waiting")
    assert missed.ticket.missed_count == 1
    assert missed.visit.state == "missed"
    # Back k = 3 places: behind three of the four who were behind it.
    assert await order(db) == [ids[1], ids[2], ids[3], ids[0], ids[4]]
    async with db.reader() as session:
        status = await officers.status_of(session, officer.user_id, now=T0)
    assert status.state == OfficerState.WRAP_UP
    # The one it let pass says why it went first.
    nxt = await call(db, officer, at=100)
    assert nxt.ticket.id == ids[1]
    async with db.reader() as session:
        answered = await session.scalar(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ids[1], TicketEvent.kind == "answered"
            )
        )
    assert answered is not None and answered.data["reason"] == "moved_back"
    assert answered.data["jumped"] == 1
    async with db.transaction() as session:
        await visits.end_visit(
            session,
            officer,
            nxt.visit.id,
            outcome="answered",
            notes=None,
            now=T0 + 200 * S,
            settings=QS,
        )
    # Miss it again until m = 2 misses are used up: the third makes it a no-show.
    settings = QueueSettings(missed_max=2, missed_move_back=10)
    for attempt in (2, 3):
        async with db.transaction() as session:
            ticket = await session.get_one(Ticket, ids[0])
            ticket.rank_at = T0 - timedelta(hours=1)  # make it next
        again = await call(db, officer, at=300 + attempt)
        assert again.ticket.id == ids[0]
        async with db.transaction() as session:
            missed = await tickets.miss(
                session, officer, again.visit.id, now=T0 + 310 * S, settings=settings
            )
        assert missed.ticket.missed_count == attempt
    assert missed.no_show and missed.ticket.state == "no_show"
    assert ids[0] not in await order(db)
    # Only the desk reactivates, and only a no-show; it returns with its original arrival.
    with pytest.raises(Forbidden):
        async with db.transaction() as session:
            await tickets.reactivate(session, officer, ids[0], now=T0 + 400 * S, settings=QS)
    desk = await principal(db, "desk")
    with pytest.raises(Conflict):
        async with db.transaction() as session:
            await tickets.reactivate(session, desk, ids[2], now=T0 + 400 * S, settings=QS)
    async with db.transaction() as session:
        back = await tickets.reactivate(session, desk, ids[0], now=T0 + 400 * S, settings=QS)
    assert (back.state, back.missed_count, back.rank_at) == ("waiting", 0, T0)
    assert (await order(db))[0] == ids[0]
    assert await kinds(db, ids[0]) == [
        "joined", "answered", "missed", "answered", "missed", "answered", "no_show", "reactivated"
    ]  # fmt: skip


async def test_missed_call_with_few_behind_goes_last(db: Database) -> None:
    ids = [t.id for t in await enqueue(db, 2)]
    officer = await principal(db, "officer-urban")
    called = await call(db, officer)
    async with db.transaction() as session:
        await tickets.miss(session, officer, called.visit.id, now=T0 + 61 * S, settings=QS)
    assert await order(db) == [ids[1], ids[0]]
    other = await second_officer(db)
    with pytest.raises(Forbidden):  # only the visit's officer marks it missed
        async with db.transaction() as session:
            await tickets.miss(session, other, called.visit.id, now=T0, settings=QS)
    with pytest.raises(Conflict):  # and only while it is live
        async with db.transaction() as session:
            await tickets.miss(session, officer, called.visit.id, now=T0, settings=QS)


async def test_reactivation_refuses_a_petitioner_who_already_waits_again(db: Database) -> None:
    [made] = await enqueue(db, 1)
    officer = await principal(db, "officer-urban")
    for _ in range(QS.missed_max + 1):
        called = await call(db, officer)
        async with db.transaction() as session:
            await tickets.miss(session, officer, called.visit.id, now=T0 + 70 * S, settings=QS)
    assert (await get(db, made.id)).state == "no_show"
    desk = await principal(db, "desk")
    # The same person takes a new ticket meanwhile (the desk links it to the same matter).
    again = dataclasses.replace(reg(0), repeat=RepeatDecision(link=made.case_id))
    async with db.transaction() as session:
        await register(session, desk, again, channel=Channel.WALK_IN, now=T0, settings=QS)
    with pytest.raises(Conflict, match="已有进行中的排队号"):
        async with db.transaction() as session:
            await tickets.reactivate(session, desk, made.id, now=T0, settings=QS)
    assert (await get(db, made.id)).state == "no_show"


# -- transfer, redirect, undo -------------------------------------------------------------------


async def test_transfer_keeps_waited_time_redirect_resets_it(db: Database) -> None:
    [early, late] = await enqueue(db, 2)
    legal = await enqueue(db, 2, line="legal", first=10)  # arrived at T0+10s and T0+11s
    desk = await principal(db, "desk")
    now = T0 + 600 * S
    async with db.transaction() as session:
        moved = await tickets.transfer(
            session,
            desk,
            early.id,
            line_code="legal",
            reason="属涉法事项",
            keep_wait=True,
            now=now,
            settings=QS,
        )
    assert moved.new.effective_start == T0
    assert moved.new.number == "D003" and moved.new.transferred_from_id == early.id
    assert await order(db, "legal") == [moved.new.id, legal[0].id, legal[1].id]
    async with db.transaction() as session:
        redirected = await tickets.transfer(
            session,
            desk,
            late.id,
            line_code="legal",
            reason="导入法定程序",
            keep_wait=False,
            now=now,
            settings=QS,
        )
    assert redirected.new.effective_start == now
    assert (await order(db, "legal"))[-1] == redirected.new.id
    assert await kinds(db, early.id) == ["joined", "transferred"]
    assert await kinds(db, late.id) == ["joined", "redirected"]
    async with db.reader() as session:
        event = await session.scalar(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == late.id)
            .order_by(TicketEvent.id.desc())
        )
    assert event is not None
    assert event.actor_id == desk.user_id
    assert event.data == {
        "to_line": "legal", "to_ticket_id": redirected.new.id, "keep_wait": False,
        "reason": "导入法定程序",
    }  # fmt: skip


async def test_transfer_during_a_visit_keeps_only_the_time_waited(db: Database) -> None:
    [made] = await enqueue(db, 1)
    officer = await principal(db, "officer-urban")
    called = await call(db, officer, at=300)  # waited 300 s (registered at T0)
    desk = await principal(db, "desk")
    with pytest.raises(Forbidden):  # a visit in progress is its officer's to transfer
        async with db.transaction() as session:
            await tickets.transfer(
                session,
                desk,
                made.id,
                line_code="legal",
                reason="属涉法事项",
                keep_wait=True,
                now=T0 + 900 * S,
                settings=QS,
            )
    async with db.transaction() as session:
        moved = await tickets.transfer(
            session,
            officer,
            made.id,
            line_code="legal",
            reason="属涉法事项",
            keep_wait=True,
            now=T0 + 900 * S,
            settings=QS,
        )
    assert moved.ended_visit is not None and moved.ended_visit.id == called.visit.id
    assert (moved.ended_visit.state, moved.ended_visit.outcome) == ("ended", "transferred")
    assert moved.new.effective_start == T0 + 600 * S  # 300 s waited, the 600 s visit not
    async with db.reader() as session:
        status = await officers.status_of(session, officer.user_id, now=T0)
    assert status.state == OfficerState.WRAP_UP


async def test_transfer_bad_input_changes_nothing(db: Database) -> None:
    [made, other] = await enqueue(db, 2)
    desk = await principal(db, "desk")

    async def attempt(ticket_id: int, line: str, reason: str = "属涉法事项") -> None:
        async with db.transaction() as session:
            await tickets.transfer(
                session,
                desk,
                ticket_id,
                line_code=line,
                reason=reason,
                keep_wait=True,
                now=T0 + 60 * S,
                settings=QS,
            )

    with pytest.raises(InvalidInput, match="未知条线"):
        await attempt(made.id, "moon")
    with pytest.raises(InvalidInput):
        await attempt(made.id, "urban")  # the same line
    with pytest.raises(InvalidInput):
        await attempt(made.id, "legal", reason=" ")
    officer = await principal(db, "officer-urban")
    called = await call(db, officer)
    async with db.transaction() as session:
        await visits.end_visit(
            session,
            officer,
            called.visit.id,
            outcome="answered",
            notes=None,
            now=T0 + 99 * S,
            settings=QS,
        )
    with pytest.raises(Conflict, match="不能转办"):
        await attempt(made.id, "legal")  # finished
    legal = await principal(db, "officer-legal")
    with pytest.raises(Forbidden):  # an officer manages only their own lines' queues
        async with db.transaction() as session:
            await tickets.transfer(
                session,
                legal,
                other.id,
                line_code="legal",
                reason="属涉法事项",
                keep_wait=True,
                now=T0,
                settings=QS,
            )
    assert (await get(db, made.id)).state == "done"
    assert await order(db) == [other.id]
    assert await order(db, "legal") == []


async def test_undo_within_the_window_only_while_the_new_ticket_waits(db: Database) -> None:
    [a, b] = await enqueue(db, 2)
    desk = await principal(db, "desk")
    now = T0 + 300 * S

    async def move(ticket_id: int) -> tickets.Transferred:
        async with db.transaction() as session:
            return await tickets.transfer(
                session,
                desk,
                ticket_id,
                line_code="legal",
                reason="属涉法事项",
                keep_wait=True,
                now=now,
                settings=QS,
            )

    async def undo(ticket_id: int, after_s: float, who: Principal = desk) -> tickets.Transferred:
        async with db.transaction() as session:
            return await tickets.undo_transfer(
                session, who, ticket_id, now=now + after_s * S, settings=QS
            )

    first = await move(a.id)
    with pytest.raises(Conflict, match="撤回时限"):
        await undo(first.new.id, QS.undo_window_s + 1)
    with pytest.raises(Conflict, match="不是转办产生的"):
        await undo(b.id, 1)
    officer = await principal(db, "officer-urban")
    with pytest.raises(Forbidden):  # not the one who transferred, nor the desk
        await undo(first.new.id, 1, officer)
    second = await move(b.id)
    legal = await principal(db, "officer-legal")
    await call(db, legal, at=301)
    with pytest.raises(Conflict, match="不能撤回"):  # already called in the new line
        await undo(first.new.id, 2)
    back = await undo(second.new.id, QS.undo_window_s)
    assert back.new.id == b.id and back.new.state == "waiting"
    assert back.new.effective_start == T0 + S
    assert await order(db) == [b.id]
    assert (await get(db, second.new.id)).state == "transferred"
    assert await kinds(db, second.new.id) == ["joined", "transfer_undone"]
    assert await kinds(db, b.id) == ["joined", "transferred", "transfer_undone"]


# -- recusal and the first handler --------------------------------------------------------------


async def test_recused_officer_never_gets_the_ticket(db: Database) -> None:
    [first, second] = await enqueue(db, 2)
    officer = await principal(db, "officer-urban")
    other = await second_officer(db)
    desk = await principal(db, "desk")
    async with db.transaction() as session:
        await tickets.exclude(
            session, desk, first.id, username="officer-urban", reason="亲属关系", now=T0
        )
        await tickets.exclude(  # idempotent
            session, desk, first.id, username="officer-urban", reason="亲属关系", now=T0
        )
    with pytest.raises(InvalidInput):
        async with db.transaction() as session:
            await tickets.exclude(session, desk, first.id, username="desk", reason="", now=T0)
    called = await call(db, officer)
    assert called.ticket.id == second.id
    async with db.reader() as session:
        answered = await session.scalar(
            select(TicketEvent).where(
                TicketEvent.ticket_id == second.id, TicketEvent.kind == "answered"
            )
        )
    assert answered is not None and answered.data["reason"] == "recusal"
    async with db.transaction() as session:
        await visits.end_visit(
            session,
            officer,
            called.visit.id,
            outcome="answered",
            notes=None,
            now=T0 + 70 * S,
            settings=QS,
        )
    with pytest.raises(QueueEmpty):
        await call(db, officer, at=80)
    assert (await call(db, other, at=80)).ticket.id == first.id
    with pytest.raises(Conflict):  # serving now: too late for a recusal
        async with db.transaction() as session:
            await tickets.exclude(
                session, desk, first.id, username="officer-urban-2", reason="", now=T0
            )


async def follow_up_case(db: Database) -> tuple[int, Principal, Principal]:
    """A case first handled by officer-urban; returns (case id, first handler, other officer)."""
    await enqueue(db, 1)
    first = await principal(db, "officer-urban")
    called = await call(db, first, at=10)
    async with db.transaction() as session:
        await visits.end_visit(
            session,
            first,
            called.visit.id,
            outcome="accepted",
            notes=None,
            now=T0 + 20 * S,
            settings=QS,
        )
    return called.case.id, first, await second_officer(db)


async def test_follow_up_waits_for_the_first_handler_then_anyone(db: Database) -> None:
    case_id, first, other = await follow_up_case(db)
    desk = await principal(db, "desk")
    now = T0 + 1000 * S
    async with db.transaction() as session:
        ticket = await tickets.follow_up(session, desk, case_id, now=now, settings=QS)
    assert ticket.preferred_officer_id == first.user_id
    with pytest.raises(Conflict, match="已有进行中的排队号"):
        async with db.transaction() as session:
            await tickets.follow_up(session, desk, case_id, now=now, settings=QS)
    with pytest.raises(QueueEmpty):  # still within the first handler's wait
        await call(db, other, at=1000 + QS.first_handler_wait_s - 1)
    assert (await call(db, other, at=1000 + QS.first_handler_wait_s)).ticket.id == ticket.id


async def test_follow_up_goes_to_the_first_handler_at_once(db: Database) -> None:
    case_id, first, _ = await follow_up_case(db)
    desk = await principal(db, "desk")
    async with db.transaction() as session:
        ticket = await tickets.follow_up(session, desk, case_id, now=T0 + 100 * S, settings=QS)
    assert (await call(db, first, at=101)).ticket.id == ticket.id


async def test_recusing_the_first_handler_frees_the_ticket_for_others(db: Database) -> None:
    case_id, _, other = await follow_up_case(db)
    desk = await principal(db, "desk")
    async with db.transaction() as session:
        ticket = await tickets.follow_up(session, desk, case_id, now=T0 + 100 * S, settings=QS)
        await tickets.exclude(
            session, desk, ticket.id, username="officer-urban", reason="利害关系", now=T0
        )
    # Waiting for an officer who may not serve it would only hold everyone up.
    assert (await call(db, other, at=101)).ticket.id == ticket.id


# -- the grace window of a dropped terminal -----------------------------------------------------


async def test_grace_window_keeps_the_place_then_expires(db: Database) -> None:
    remote = await enqueue(db, 2, who="village-zhangzhuang")
    [walk_in] = await enqueue(db, 1, first=5)
    terminal = await principal(db, "village-zhangzhuang")
    assert terminal.terminal_id is not None
    async with db.transaction() as session:
        gone = await presence.terminal_disconnected(session, terminal.terminal_id, now=T0 + 10 * S)
    assert {t.id for t in gone} == {remote[0].id, remote[1].id}
    officer = await principal(db, "officer-urban")
    called = await call(db, officer, at=11)  # the away tickets cannot be called meanwhile
    assert called.ticket.id == walk_in.id
    assert await order(db) == [remote[0].id, remote[1].id]  # but keep their places
    async with db.transaction() as session:
        back = await presence.terminal_reconnected(session, terminal.terminal_id, now=T0 + 20 * S)
        assert len(back) == 2
        assert await presence.expire_graces(session, now=T0 + 1000 * S, settings=QS) == []
    assert await kinds(db, remote[0].id) == ["joined", "disconnected", "reconnected"]
    async with db.transaction() as session:
        await presence.terminal_disconnected(session, terminal.terminal_id, now=T0 + 30 * S)
        assert await presence.expire_graces(session, now=T0 + 149 * S, settings=QS) == []
        expired = await presence.expire_graces(session, now=T0 + 150 * S, settings=QS)
    assert {t.id for t in expired} == {remote[0].id, remote[1].id}
    async with db.reader() as session:
        event = await session.scalar(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == remote[0].id)
            .order_by(TicketEvent.id.desc())
        )
    assert event is not None and event.kind == "abandoned"
    assert event.data == {"wait_s": 150.0, "reason": "grace_expired"}
    assert await order(db) == []


async def test_transfer_of_an_away_ticket_keeps_its_grace_window(db: Database) -> None:
    [made] = await enqueue(db, 1, who="village-zhangzhuang")
    terminal = await principal(db, "village-zhangzhuang")
    assert terminal.terminal_id is not None
    async with db.transaction() as session:
        await presence.terminal_disconnected(session, terminal.terminal_id, now=T0 + 10 * S)
    desk = await principal(db, "desk")
    async with db.transaction() as session:
        moved = await tickets.transfer(
            session,
            desk,
            made.id,
            line_code="legal",
            reason="属涉法事项",
            keep_wait=True,
            now=T0 + 20 * S,
            settings=QS,
        )
    legal = await principal(db, "officer-legal")
    with pytest.raises(QueueEmpty):  # nobody is at the terminal to answer
        await call(db, legal, at=30)
    async with db.transaction() as session:
        expired = await presence.expire_graces(session, now=T0 + 130 * S, settings=QS)
    assert [t.id for t in expired] == [moved.new.id]


async def test_undo_after_the_terminal_came_back_does_not_abandon_it(db: Database) -> None:
    [made] = await enqueue(db, 1, who="village-zhangzhuang")
    terminal = await principal(db, "village-zhangzhuang")
    assert terminal.terminal_id is not None
    desk = await principal(db, "desk")
    async with db.transaction() as session:
        await presence.terminal_disconnected(session, terminal.terminal_id, now=T0 + 10 * S)
        moved = await tickets.transfer(
            session,
            desk,
            made.id,
            line_code="legal",
            reason="属涉法事项",
            keep_wait=True,
            now=T0 + 20 * S,
            settings=QS,
        )
        await presence.terminal_reconnected(session, terminal.terminal_id, now=T0 + 30 * S)
    async with db.transaction() as session:
        await tickets.undo_transfer(session, desk, moved.new.id, now=T0 + 40 * S, settings=QS)
        assert await presence.expire_graces(session, now=T0 + 1000 * S, settings=QS) == []
    officer = await principal(db, "officer-urban")
    assert (await call(db, officer, at=1000)).ticket.id == made.id


async def test_leaving_the_queue(db: Database) -> None:
    [mine] = await enqueue(db, 1, who="village-zhangzhuang")
    other = await principal(db, "village-lijiawan")
    with pytest.raises(Forbidden):
        async with db.transaction() as session:
            await presence.leave_queue(session, other, mine.id, now=T0)
    terminal = await principal(db, "village-zhangzhuang")
    async with db.transaction() as session:
        left = await presence.leave_queue(session, terminal, mine.id, now=T0 + 45 * S)
    assert left.state == "abandoned"
    with pytest.raises(Conflict):
        async with db.transaction() as session:
            await presence.leave_queue(session, terminal, mine.id, now=T0)
    assert await kinds(db, mine.id) == ["joined", "abandoned"]


# -- auto-offer -----------------------------------------------------------------------------------


async def auto_line(db: Database) -> tuple[int, Principal, Principal]:
    """urban with auto-offer on and two available officers, officer-urban idle longest."""
    first = await principal(db, "officer-urban")
    second = await second_officer(db)
    async with db.transaction() as session:
        line = await session.scalar(select(Line).where(Line.code == "urban"))
        assert line is not None
        line.auto_offer = True
        await officers.came_online(session, first.user_id, now=T0)
        await officers.came_online(session, second.user_id, now=T0 + S)
        return line.id, first, second


async def dispatch(db: Database, line_id: int, at: int) -> list[offers.Offer]:
    async with db.transaction() as session:
        return await offers.dispatch(session, line_id, now=T0 + at * S, settings=QS)


async def state_of(db: Database, who: Principal) -> tuple[str, str]:
    async with db.reader() as session:
        row = await officers.status_of(session, who.user_id, now=T0)
        return row.state, row.reason


async def test_offer_goes_to_the_longest_idle_and_is_accepted(db: Database) -> None:
    line_id, first, second = await auto_line(db)
    [a, b, c] = await enqueue(db, 3)
    made = await dispatch(db, line_id, 10)
    assert [(o.ticket.id, o.officer_id) for o in made] == [
        (a.id, first.user_id),
        (b.id, second.user_id),
    ]
    assert made[0].expires_at == T0 + (10 + QS.offer_timeout_s) * S
    assert await dispatch(db, line_id, 11) == []  # each officer holds one offer at a time
    with pytest.raises(Conflict, match="分配已失效"):  # not theirs
        async with db.transaction() as session:
            await visits.accept_offer(session, second, a.id, now=T0 + 12 * S)
    async with db.transaction() as session:
        called = await visits.accept_offer(session, first, a.id, now=T0 + 12 * S)
    assert (called.ticket.state, called.ticket.officer_id) == ("serving", first.user_id)
    assert await state_of(db, first) == (OfficerState.BUSY, "")
    assert await kinds(db, a.id) == ["joined", "offered", "answered"]
    assert (await get(db, c.id)).state == "waiting"


async def test_declined_or_unanswered_offer_moves_on_and_sets_the_officer_away(
    db: Database,
) -> None:
    line_id, first, second = await auto_line(db)
    [a] = await enqueue(db, 1)
    [offer] = await dispatch(db, line_id, 10)
    assert offer.officer_id == first.user_id
    async with db.transaction() as session:
        declined = await offers.decline(session, first, a.id, now=T0 + 11 * S)
    assert declined.state == "waiting"
    assert await state_of(db, first) == (OfficerState.AWAY, "declined")
    with pytest.raises(Conflict):  # declining twice
        async with db.transaction() as session:
            await offers.decline(session, first, a.id, now=T0 + 12 * S)
    [offer] = await dispatch(db, line_id, 12)
    assert offer.officer_id == second.user_id
    async with db.transaction() as session:
        assert await offers.expire(session, now=offer.expires_at - S) == []
        expired = await offers.expire(session, now=offer.expires_at)
    assert [(t.id, o) for t, o in expired] == [(a.id, second.user_id)]
    assert await state_of(db, second) == (OfficerState.AWAY, "no_answer")
    with pytest.raises(Conflict, match="分配已失效"):  # the offer moved on
        async with db.transaction() as session:
            await visits.accept_offer(session, second, a.id, now=offer.expires_at + S)
    assert (await get(db, a.id)).state == "waiting"
    assert await dispatch(db, line_id, 40) == []  # nobody available any more
    assert await kinds(db, a.id) == [
        "joined", "offered", "offer_declined", "offered", "offer_expired"
    ]  # fmt: skip


async def test_an_offer_past_its_timeout_cannot_be_accepted_before_the_sweep(
    db: Database,
) -> None:
    line_id, first, _ = await auto_line(db)
    [a] = await enqueue(db, 1)
    [offer] = await dispatch(db, line_id, 10)
    with pytest.raises(Conflict, match="分配已超时"):
        async with db.transaction() as session:
            await visits.accept_offer(session, first, a.id, now=offer.expires_at)
    assert (await get(db, a.id)).state == "offered"  # the sweeper withdraws it


async def test_recusal_withdraws_an_offer_to_the_recused_officer(db: Database) -> None:
    line_id, first, second = await auto_line(db)
    [a] = await enqueue(db, 1)
    [offer] = await dispatch(db, line_id, 10)
    assert offer.officer_id == first.user_id
    desk = await principal(db, "desk")
    async with db.transaction() as session:
        ticket = await tickets.exclude(
            session, desk, a.id, username="officer-urban", reason="亲属关系", now=T0 + 11 * S
        )
    assert (ticket.state, ticket.offered_to) == ("waiting", None)
    [offer] = await dispatch(db, line_id, 12)
    assert offer.officer_id == second.user_id


async def test_no_offers_on_a_line_without_auto_offer(db: Database) -> None:
    await enqueue(db, 1)
    first = await principal(db, "officer-urban")
    async with db.transaction() as session:
        await officers.came_online(session, first.user_id, now=T0)
        line_id = await session.scalar(select(Line.id).where(Line.code == "urban"))
    assert line_id is not None
    assert await dispatch(db, line_id, 5) == []


# -- officers' states ---------------------------------------------------------------------------


async def test_officer_states_through_a_visit_and_wrap_up(db: Database) -> None:
    officer = await principal(db, "officer-urban")
    assert await state_of(db, officer) == (OfficerState.OFFLINE, "")
    async with db.transaction() as session:
        await officers.came_online(session, officer.user_id, now=T0)
        with pytest.raises(InvalidInput):
            await officers.set_state(session, officer.user_id, "away", reason="nap", now=T0)
        with pytest.raises(InvalidInput):
            await officers.set_state(session, officer.user_id, "busy", reason="", now=T0)
        await officers.set_state(session, officer.user_id, "away", reason="break", now=T0)
    assert await state_of(db, officer) == (OfficerState.AWAY, "break")
    async with db.transaction() as session:
        await officers.set_state(session, officer.user_id, "available", reason="", now=T0)
    await enqueue(db, 1)
    called = await call(db, officer, at=10)
    assert await state_of(db, officer) == (OfficerState.BUSY, "")
    async with db.transaction() as session:
        with pytest.raises(Conflict):
            await officers.set_state(session, officer.user_id, "away", reason="break", now=T0)
        with pytest.raises(Conflict):
            await officers.set_state(session, officer.user_id, "available", reason="", now=T0)
        # A dropped console during a visit keeps the officer busy; a late offer too.
        await officers.went_offline(session, officer.user_id, now=T0 + 20 * S)
        await officers.mark_unanswered(session, officer.user_id, now=T0, reason="no_answer")
    assert await state_of(db, officer) == (OfficerState.BUSY, "")
    async with db.transaction() as session:
        await visits.end_visit(
            session,
            officer,
            called.visit.id,
            outcome="answered",
            notes=None,
            now=T0 + 100 * S,
            settings=QS,
        )
        row = await officers.status_of(session, officer.user_id, now=T0)
        assert row.wrap_up_until == T0 + (100 + QS.wrap_up_s) * S
        assert await officers.end_wrap_ups(session, now=T0 + (99 + QS.wrap_up_s) * S) == []
        done = await officers.end_wrap_ups(session, now=T0 + (100 + QS.wrap_up_s) * S)
    assert done == [officer.user_id]
    assert await state_of(db, officer) == (OfficerState.AVAILABLE, "")
    async with db.transaction() as session:
        await officers.went_offline(session, officer.user_id, now=T0 + 500 * S)
    assert await state_of(db, officer) == (OfficerState.OFFLINE, "")


async def test_console_reconnecting_during_a_visit_finds_the_officer_busy(db: Database) -> None:
    officer = await principal(db, "officer-urban")
    await enqueue(db, 1)
    await call(db, officer)
    async with db.transaction() as session:
        await officers.all_offline(session, now=T0 + 70 * S)  # a restart
    assert await state_of(db, officer) == (OfficerState.OFFLINE, "")
    async with db.transaction() as session:
        await officers.came_online(session, officer.user_id, now=T0 + 80 * S)
    assert await state_of(db, officer) == (OfficerState.BUSY, "")


# -- the quota through the database -------------------------------------------------------------


async def test_quota_brings_the_longest_waiting_normal_ticket_forward(db: Database) -> None:
    desk = await principal(db, "desk")
    made = []
    for i, klass in enumerate(["normal", "normal", "priority", "priority", "priority", "priority"]):
        async with db.transaction() as session:
            done = await register(
                session,
                desk,
                reg(i, klass=klass),
                channel=Channel.WALK_IN,
                now=T0 + i * 10 * S,
                settings=QS,
            )
        made.append(done.ticket)
    officer = await principal(db, "officer-urban")
    served = []
    for i in range(6):
        called = await call(db, officer, at=100 + i)
        served.append(called.ticket.id)
        async with db.transaction() as session:
            await visits.end_visit(
                session,
                officer,
                called.visit.id,
                outcome="answered",
                notes=None,
                now=T0 + (100 + i) * S,
                settings=QS,
            )
    n1, n2, p1, p2, p3, p4 = (t.id for t in made)
    assert served == [p1, p2, p3, n1, p4, n2]
    async with db.reader() as session:
        reasons = [
            (e.ticket_id, e.data["reason"])
            for e in await session.scalars(
                select(TicketEvent).where(TicketEvent.kind == "answered").order_by(TicketEvent.id)
            )
        ]
    assert reasons == [
        (p1, "head_start"), (p2, "head_start"), (p3, "head_start"), (n1, "quota"),
        (p4, "head_start"), (n2, "fifo"),
    ]  # fmt: skip


async def test_restart_marks_live_visits_interrupted_and_starts_grace_windows(
    db: Database,
) -> None:
    remote = await enqueue(db, 2, who="village-zhangzhuang")
    officer = await principal(db, "officer-urban")
    called = await call(db, officer)
    async with db.transaction() as session:
        assert await presence.all_disconnected(session, now=T0 + 100 * S) == 1
        assert await visits.interrupt_live(session, now=T0 + 100 * S) == [called.visit.id]
    async with db.reader() as session:
        visit = await session.get_one(Visit, called.visit.id)
    assert visit.state == "interrupted"
    assert (await get(db, remote[0].id)).state == "interrupted"
    assert (await get(db, remote[1].id)).disconnected_at == T0 + 100 * S
    assert await kinds(db, remote[0].id) == ["joined", "answered", "interrupted"]


async def test_many_recusals_on_one_line_do_not_hide_its_best_ticket(db: Database) -> None:
    """An officer of two lines: a long run of recusals at the head of one line must not let
    the other line's later ticket go first."""
    async with db.transaction() as session:
        await add_user(
            session,
            username="officer-two-lines",
            password="jiefang-demo",
            role=Role.OFFICER,
            display_name="两条线接访员",
            now=T0,
            line_codes=("urban", "legal"),
        )
    officer = await principal(db, "officer-two-lines")
    heads = sql.PAGE + 2
    urban = await enqueue(db, heads + 1)  # T0 .. T0+heads s
    desk = await principal(db, "desk")
    async with db.transaction() as session:
        for ticket in urban[:heads]:
            await tickets.exclude(
                session, desk, ticket.id, username="officer-two-lines", reason="", now=T0
            )
    [legal] = await enqueue(db, 1, line="legal", first=500)  # arrived later than all of urban
    called = await call(db, officer, at=1000)
    assert called.ticket.id == urban[heads].id
    assert called.ticket.id != legal.id
