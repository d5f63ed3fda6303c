"""The ordering rules as properties (hypothesis): the pure `choose()`, a simulated hall that calls
it over and over while tickets arrive, and transfers on a real SQLite file keeping waited time."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hall.cases.registration import register
from hall.db import Database
from hall.queue import positions, queue, tickets
from hall.queue.queue import Candidate, Choice, choose, rank_for
from hall.queue.tables import Channel, PriorityClass, Ticket, TicketState
from hall.settings import QueueSettings
from hall.visits import visits
from tests.support import QS, T0, petition, principal

NORMAL, PRIORITY, URGENT = PriorityClass.NORMAL, PriorityClass.PRIORITY, PriorityClass.URGENT
CLASSES = (NORMAL, PRIORITY, URGENT)
OFFICERS = (1, 2, 3)

# -- the pure choice --------------------------------------------------------------------------


@st.composite
def candidate_sets(draw: st.DrawFn) -> tuple[list[Candidate], datetime]:
    """Waiting tickets of two lines with classes, recusals and first-handler waits."""
    head = QueueSettings(
        priority_head_start_s=draw(st.integers(0, 1200)),
        urgent_head_start_s=draw(st.integers(1200, 3600)),
    )
    now = T0 + timedelta(hours=2)
    out = []
    for ticket_id in range(1, draw(st.integers(0, 12)) + 1):
        klass = draw(st.sampled_from(CLASSES))
        start = T0 + timedelta(seconds=draw(st.integers(0, 7200)))
        preferred = draw(st.none() | st.sampled_from(OFFICERS))
        out.append(
            Candidate(
                id=ticket_id,
                line_id=draw(st.sampled_from((1, 2))),
                klass=klass,
                # A missed call moves a ticket back: its rank is later than its class gives.
                rank_at=rank_for(klass, start, head)
                + timedelta(seconds=draw(st.sampled_from((0, 0, 0, 900)))),
                effective_start=start,
                excluded=frozenset(draw(st.sets(st.sampled_from(OFFICERS), max_size=2))),
                preferred_officer_id=preferred,
                preferred_until=(
                    now + timedelta(seconds=draw(st.integers(-300, 300)))
                    if preferred is not None
                    else None
                ),
            )
        )
    return out, now


def key(c: Candidate) -> tuple[datetime, int]:
    return (c.rank_at, c.id)


@settings(max_examples=400, deadline=None)
@given(
    drawn=candidate_sets(),
    officer=st.sampled_from(OFFICERS),
    streaks=st.fixed_dictionaries({1: st.integers(0, 4), 2: st.integers(0, 4)}),
    quota=st.integers(1, 3),
    data=st.data(),
)
def test_choose_takes_the_best_eligible_ticket_unless_the_quota_says_otherwise(
    drawn: tuple[list[Candidate], datetime],
    officer: int,
    streaks: dict[int, int],
    quota: int,
    data: st.DataObject,
) -> None:
    candidates, now = drawn
    allowed = sorted((c for c in candidates if queue.eligible(c, officer, now)), key=key)
    shuffled = data.draw(st.permutations(candidates))
    choice = choose(shuffled, officer_id=officer, now=now, streaks=streaks, quota=quota)
    # The order the database hands the candidates over does not matter.
    again = choose(candidates, officer_id=officer, now=now, streaks=streaks, quota=quota)
    assert choice == again
    if not allowed:
        assert choice is None
        return
    assert choice is not None
    chosen = next(c for c in candidates if c.id == choice.ticket_id)
    # Recusal and the first handler's wait are never overridden.
    assert officer not in chosen.excluded
    assert queue.eligible(chosen, officer, now)
    best = allowed[0]
    normals = [c for c in allowed if c.klass == NORMAL and c.line_id == best.line_id]
    if best.klass != NORMAL and streaks[best.line_id] >= quota and normals:
        assert (chosen, choice.reason) == (normals[0], "quota")
    else:
        assert chosen == best
        assert choice.reason != "quota"
    earlier = [
        c for c in candidates if (c.effective_start, c.id) < (chosen.effective_start, chosen.id)
    ]
    assert choice.jumped == len(earlier)
    if not earlier:
        assert choice.reason in ("fifo", "quota")
    elif choice.reason != "quota":
        assert choice.reason != "fifo"
        if chosen.klass != NORMAL:
            assert choice.reason == "head_start"


def test_choose_explains_each_jump() -> None:
    now = T0 + timedelta(hours=1)

    def c(ticket_id: int, minutes: int, klass: str = NORMAL, **kw: object) -> Candidate:
        start = T0 + timedelta(minutes=minutes)
        return Candidate(
            id=ticket_id,
            line_id=1,
            klass=klass,
            rank_at=rank_for(klass, start, QS),
            effective_start=start,
            **kw,  # type: ignore[arg-type]
        )

    def pick(cands: Iterable[Candidate], streak: int = 0, officer: int = 1) -> Choice | None:
        return choose(list(cands), officer_id=officer, now=now, streaks={1: streak}, quota=3)

    assert pick([]) is None
    assert pick([c(1, 0), c(2, 1)]) == Choice(1, "fifo", 0)
    # A priority ticket 5 minutes later outranks (10 minutes head start) the normal one.
    assert pick([c(1, 0), c(2, 5, PRIORITY)]) == Choice(2, "head_start", 1)
    # ... but not one that arrived 11 minutes earlier: priority ages, it never bypasses.
    assert pick([c(1, 0), c(2, 11, PRIORITY)]) == Choice(1, "fifo", 0)
    # After three priority calls in a row the longest-waiting normal ticket goes next.
    assert pick([c(1, 0), c(2, 5, PRIORITY)], streak=3) == Choice(1, "quota", 0)
    assert pick([c(2, 5, PRIORITY)], streak=3) == Choice(2, "fifo", 0)
    recused = c(1, 0, excluded=frozenset({1}))
    assert pick([recused, c(2, 1)]) == Choice(2, "recusal", 1)
    assert pick([recused, c(2, 1)], officer=2) == Choice(1, "fifo", 0)
    waiting_for_3 = c(1, 0, preferred_officer_id=3, preferred_until=now + timedelta(seconds=1))
    assert pick([waiting_for_3, c(2, 1)]) == Choice(2, "first_handler", 1)
    assert pick([waiting_for_3, c(2, 1)], officer=3) == Choice(1, "fifo", 0)
    waited_enough = c(1, 0, preferred_officer_id=3, preferred_until=now)
    assert pick([waited_enough, c(2, 1)]) == Choice(1, "fifo", 0)
    assert pick([recused]) is None


# -- a simulated hall calling choose() again and again -----------------------------------------


@dataclass
class Waiting:
    ticket: Candidate
    arrived_call: int  # calls made before it arrived
    normals_ahead: int  # normal tickets waiting when it arrived
    served_call: int | None = None
    served_by: int | None = None
    reason: str = ""


@dataclass
class Hall:
    """One line's queue served by `choose()` the way `queue.choose_next` feeds it."""

    settings: QueueSettings
    now: datetime = T0
    calls: int = 0
    streak: int = 0
    tickets: list[Waiting] = field(default_factory=list)
    served: list[Waiting] = field(default_factory=list)

    def waiting(self) -> list[Waiting]:
        return [w for w in self.tickets if w.served_call is None]

    def arrive(self, klass: str, excluded: frozenset[int] = frozenset()) -> None:
        candidate = Candidate(
            id=len(self.tickets) + 1,
            line_id=1,
            klass=klass,
            rank_at=rank_for(klass, self.now, self.settings),
            effective_start=self.now,
            excluded=excluded,
        )
        ahead = sum(1 for w in self.waiting() if w.ticket.klass == NORMAL)
        self.tickets.append(Waiting(candidate, self.calls, ahead))

    def call(self, officer: int) -> Waiting | None:
        quota = self.settings.priority_quota
        pending = self.waiting()
        choice = choose(
            [w.ticket for w in pending],
            officer_id=officer,
            now=self.now,
            streaks={1: min(self.streak, quota)},
            quota=quota,
        )
        eligible_normal = any(
            w.ticket.klass == NORMAL and officer not in w.ticket.excluded for w in pending
        )
        if choice is None:
            assert all(officer in w.ticket.excluded for w in pending)
            return None
        taken = next(w for w in pending if w.ticket.id == choice.ticket_id)
        # The quota: never more than `priority_quota` priority calls in a row while a normal
        # ticket this officer may serve is waiting.
        if self.streak >= quota and eligible_normal:
            assert taken.ticket.klass == NORMAL, (self.streak, taken, choice)
        assert officer not in taken.ticket.excluded
        self.calls += 1
        taken.served_call, taken.served_by, taken.reason = self.calls, officer, choice.reason
        self.served.append(taken)
        self.streak = 0 if taken.ticket.klass == NORMAL else self.streak + 1
        return taken


STEP = st.tuples(
    st.integers(0, 240),  # seconds until this step
    st.sampled_from((NORMAL, NORMAL, PRIORITY, URGENT, "call", "call")),
)


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(STEP, max_size=80),
    quota=st.integers(1, 4),
    priority_head=st.integers(0, 1800),
    urgent_extra=st.integers(0, 3600),
)
def test_no_ticket_waits_forever_while_an_officer_serves(
    steps: list[tuple[int, str]], quota: int, priority_head: int, urgent_extra: int
) -> None:
    rules = QueueSettings(
        priority_head_start_s=priority_head,
        urgent_head_start_s=priority_head + urgent_extra,
        priority_quota=quota,
    )
    hall = Hall(rules)
    for gap, what in steps:
        hall.now += timedelta(seconds=gap)
        if what == "call":
            hall.call(1)
        else:
            hall.arrive(what)
    while hall.waiting():  # the officer keeps serving until the queue is empty
        hall.now += timedelta(seconds=60)
        assert hall.call(1) is not None
    for w in hall.tickets:
        assert w.served_call is not None
        waited_calls = w.served_call - w.arrived_call
        if w.ticket.klass == NORMAL:
            # Normal tickets are served in arrival order, and at least one call in every
            # quota + 1 serves a normal ticket while one waits.
            assert waited_calls <= (w.normals_ahead + 1) * (quota + 1)
            continue
        # Everyone served before it either outranked it, or was a normal ticket the quota
        # brought forward — at most one per `quota` calls of tickets that outranked it.
        before = [
            o for o in hall.served[w.arrived_call : w.served_call - 1] if o.ticket.id != w.ticket.id
        ]
        outranked = [o for o in before if key(o.ticket) < key(w.ticket)]
        assert all(o.reason == "quota" for o in before if key(o.ticket) > key(w.ticket))
        assert waited_calls <= len(outranked) + len(outranked) // quota + 2
        # Aging: a later arrival passes it only within the head start difference.
        head = queue.head_start_s(w.ticket.klass, rules)
        for o in outranked:
            if o.ticket.effective_start > w.ticket.effective_start:
                late = (o.ticket.effective_start - w.ticket.effective_start).total_seconds()
                assert late < queue.head_start_s(o.ticket.klass, rules) - head


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 240),
            st.sampled_from((NORMAL, PRIORITY, URGENT, "call")),
            st.sets(st.sampled_from(OFFICERS[:2]), max_size=1),
            st.sampled_from(OFFICERS[:2]),
        ),
        max_size=60,
    ),
    quota=st.integers(1, 3),
)
def test_recusal_is_respected_and_everyone_is_still_served(
    steps: list[tuple[int, str, set[int], int]], quota: int
) -> None:
    hall = Hall(QueueSettings(priority_quota=quota))
    for gap, what, excluded, officer in steps:
        hall.now += timedelta(seconds=gap)
        if what == "call":
            hall.call(officer)
        else:
            hall.arrive(what, frozenset(excluded))
    rounds = 0
    while hall.waiting():  # two officers keep serving; each ticket excludes at most one
        rounds += 1
        assert rounds <= 2 * len(hall.tickets)
        hall.now += timedelta(seconds=60)
        hall.call(OFFICERS[rounds % 2])
    assert all(w.served_by not in w.ticket.excluded for w in hall.tickets)


# -- transfers on a real database --------------------------------------------------------------


async def transfer_scenario(
    db: Database,
    *,
    klass: str,
    waited_s: int,
    called_s: int | None,
    keep_wait: bool,
    others: list[int],
) -> None:
    desk = await principal(db, "desk")
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        moving = (
            await register(
                session,
                desk,
                petition(0, "urban", klass),
                channel=Channel.WALK_IN,
                now=T0,
                settings=QS,
            )
        ).ticket
    for i, offset in enumerate(others, start=1):  # normal tickets already waiting in legal
        async with db.transaction() as session:
            await register(
                session,
                desk,
                petition(i, "legal"),
                channel=Channel.WALK_IN,
                now=T0 + timedelta(seconds=offset),
                settings=QS,
            )
    now = T0 + timedelta(seconds=waited_s)
    who = desk
    if called_s is not None:  # called after `called_s`, transferred `waited_s` into the visit
        async with db.transaction() as session:
            await visits.call_next(
                session, officer, now=T0 + timedelta(seconds=called_s), settings=QS
            )
        who = officer
        now += timedelta(seconds=called_s)
    async with db.transaction() as session:
        moved = await tickets.transfer(
            session,
            who,
            moving.id,
            line_code="legal",
            reason="属涉法事项",
            keep_wait=keep_wait,
            now=now,
            settings=QS,
        )
    new = moved.new
    waited = timedelta(seconds=called_s if called_s is not None else waited_s)
    assert new.effective_start == (now - waited if keep_wait else now)
    assert new.priority_class == klass
    assert new.rank_at == rank_for(klass, new.effective_start, QS)
    assert (moved.old.state, new.state, new.channel) == ("transferred", "waiting", "transfer")
    async with db.reader() as session:
        order = [t.id for t in await positions.waiting(session, [new.line_id])]
        rows = list(await session.scalars(select(Ticket).where(Ticket.id.in_(order))))
        log = [e.kind for e in await tickets.events_of(session, moving.id)]
    ranks = {t.id: (t.rank_at, t.id) for t in rows}
    assert order == sorted(order, key=lambda i: ranks[i])
    # It lands behind exactly those who outrank its (kept or fresh) waited time.
    ahead = sum(1 for t in rows if t.id != new.id and (t.rank_at, t.id) < ranks[new.id])
    assert order.index(new.id) == ahead
    assert log[-1] == ("transferred" if keep_wait else "redirected")
    # Undo within the window: the old ticket waits again with its old waited time.
    async with db.transaction() as session:
        undone = await tickets.undo_transfer(
            session, desk, new.id, now=now + timedelta(seconds=1), settings=QS
        )
    assert undone.new.id == moving.id
    assert undone.new.state == TicketState.WAITING
    assert undone.new.effective_start == T0
    assert undone.new.rank_at == rank_for(klass, T0, QS)
    assert undone.old.state == TicketState.TRANSFERRED


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    klass=st.sampled_from(CLASSES),
    waited_s=st.integers(0, 7200),
    called_s=st.none() | st.integers(0, 3600),
    keep_wait=st.booleans(),
    others=st.lists(st.integers(-3600, 7200), max_size=4),
)
def test_transfer_keeps_waited_time_and_redirect_resets_it(
    seeded_db: Path,
    klass: str,
    waited_s: int,
    called_s: int | None,
    keep_wait: bool,
    others: list[int],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hall.db"
        shutil.copyfile(seeded_db, path)

        async def run() -> None:
            db = Database(f"sqlite+aiosqlite:///{path}")
            try:
                await transfer_scenario(
                    db,
                    klass=klass,
                    waited_s=waited_s,
                    called_s=called_s,
                    keep_wait=keep_wait,
                    others=others,
                )
            finally:
                await db.close()

        asyncio.run(run())
