"""Live side of the queues: pushes queue changes, runs the sweeper (grace windows, offers,
wrap-ups), dispatches auto-offers, tracks who is connected, feeds the hall display board."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

from hall.accounts.tables import Role
from hall.accounts.users import Principal
from hall.db import Database
from hall.ports import Clock
from hall.queue import lines as queue_lines
from hall.queue import live, offers, officers, presence
from hall.queue.tables import Ticket
from hall.settings import QueueSettings
from hall.visits import visits
from hall.visits.tables import Visit
from signaling.bus import LocalBus

logger = logging.getLogger(__name__)


class QueueService:
    """Owns the sweeper task and the presence counters of one process."""

    def __init__(
        self,
        *,
        db: Database,
        bus: LocalBus,
        clock: Clock,
        settings: QueueSettings,
        handle_default_s: int,
    ) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock
        self.settings = settings
        self.handle_default_s = handle_default_s
        self._terminals: Counter[int] = Counter()
        self._officers: Counter[int] = Counter()
        self._sweeper: asyncio.Task[None] | None = None

    # -- pushing changes -------------------------------------------------------------------

    async def changed(self, line_ids: Iterable[int]) -> None:
        """After a commit that touched these lines: push their queues and positions, dispatch
        auto-offers, refresh the board's counts."""
        lines = sorted(set(line_ids))
        async with self.db.reader() as session:
            auto = await queue_lines.auto_offer_line_ids(session, lines)
        # Offers are written only on lines that distribute automatically (off by default).
        for line_id in auto:
            await self._dispatch(line_id)
        async with self.db.reader() as session:
            for line_id in lines:
                await live.publish_line(
                    session, self.bus, line_id, handle_default_s=self.handle_default_s
                )
            self.bus.publish("board", "counts", await live.board_counts(session))

    async def _dispatch(self, line_id: int) -> None:
        async with self.db.transaction() as session:
            made = await offers.dispatch(
                session, line_id, now=self.clock.now(), settings=self.settings
            )
        for offer in made:
            self.bus.publish(
                f"officer:{offer.officer_id}",
                "offer",
                {
                    "ticket_id": offer.ticket.id,
                    "number": offer.ticket.number,
                    "class": offer.ticket.priority_class,
                    "expires_at": offer.expires_at.isoformat(),
                    "timeout_s": self.settings.offer_timeout_s,
                },
            )
        if made:
            await self._publish_states({o.officer_id for o in made})

    async def announce_call(self, ticket: Ticket, visit: Visit) -> None:
        """Show a call on the hall display board (C017 → 城建接谈室)."""
        async with self.db.reader() as session:
            room_name = await visits.room_name_of(session, visit)
            entry = await live.called_entry(session, ticket, room_name)
        self.bus.publish("board", "called", entry)

    async def _publish_states(self, user_ids: Iterable[int]) -> None:
        async with self.db.transaction() as session:
            for user_id in user_ids:
                row = await officers.status_of(session, user_id, now=self.clock.now())
                self.bus.publish(f"officer:{user_id}", "officer_state", state_json(row))

    async def officer_state_changed(self, user_id: int) -> None:
        await self._publish_states([user_id])

    # -- presence --------------------------------------------------------------------------

    async def connected(self, who: Principal) -> None:
        """A WebSocket of `who` opened: a terminal's tickets leave their grace window, an
        officer's console makes the officer available."""
        now = self.clock.now()
        if who.role == Role.TERMINAL and who.terminal_id is not None:
            self._terminals[who.terminal_id] += 1
            if self._terminals[who.terminal_id] == 1:
                async with self.db.transaction() as session:
                    back = await presence.terminal_reconnected(session, who.terminal_id, now=now)
                await self.changed(t.line_id for t in back)
        elif who.role in (Role.OFFICER, Role.LEADER):
            self._officers[who.user_id] += 1
            if self._officers[who.user_id] == 1:
                async with self.db.transaction() as session:
                    await officers.came_online(session, who.user_id, now=now)
                await self.officer_state_changed(who.user_id)
                await self.changed(who.line_ids)

    async def disconnected(self, who: Principal) -> None:
        """The last WebSocket of a terminal or officer closed."""
        now = self.clock.now()
        if who.role == Role.TERMINAL and who.terminal_id is not None:
            self._terminals[who.terminal_id] -= 1
            if self._terminals[who.terminal_id] <= 0:
                del self._terminals[who.terminal_id]
                async with self.db.transaction() as session:
                    gone = await presence.terminal_disconnected(session, who.terminal_id, now=now)
                await self.changed(t.line_id for t in gone)
        elif who.role in (Role.OFFICER, Role.LEADER):
            self._officers[who.user_id] -= 1
            if self._officers[who.user_id] <= 0:
                del self._officers[who.user_id]
                async with self.db.transaction() as session:
                    await officers.went_offline(session, who.user_id, now=now)
                await self.changed(who.line_ids)

    async def account_ended(self, user_id: int) -> None:
        """After an account was deactivated or its password reset (and its sockets closed): the
        officer is offline (a live visit keeps them busy) and every offer they hold waits again,
        so no ticket is offered to someone who can no longer accept it."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            released = await offers.release(session, user_id, now=now)
            await officers.went_offline(session, user_id, now=now)
            lines = await officers.lines_of(session, [user_id])
        for ticket in released:
            self.bus.publish(
                f"officer:{user_id}",
                "offer_withdrawn",
                {"ticket_id": ticket.id, "reason": "account_ended"},
            )
        await self.officer_state_changed(user_id)
        lines |= {t.line_id for t in released}
        if lines:
            await self.changed(lines)

    # -- the sweeper -----------------------------------------------------------------------

    async def sweep(self) -> None:
        """One pass: expired grace windows, unanswered offers, finished wrap-ups."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            abandoned = await presence.expire_graces(session, now=now, settings=self.settings)
            expired = await offers.expire(session, now=now)
            available = await officers.end_wrap_ups(session, now=now)
        for ticket in abandoned:
            self.bus.publish(f"ticket:{ticket.id}", "ticket_status", {"state": ticket.state})
        for ticket, officer_id in expired:
            self.bus.publish(
                f"officer:{officer_id}",
                "offer_withdrawn",
                {"ticket_id": ticket.id, "reason": "timeout"},
            )
        lines = {t.line_id for t in abandoned} | {t.line_id for t, _ in expired}
        if expired or available:
            await self._publish_states({o for _, o in expired} | set(available))
        if available:
            async with self.db.reader() as session:
                lines |= set(await officers.lines_of(session, available))
        if lines:
            await self.changed(lines)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_interval_s)
            try:
                await self.sweep()
            except Exception:
                logger.exception("queue sweep failed")

    async def start(self) -> None:
        """Reset presence after a restart (nobody is connected yet) and start the sweeper."""
        async with self.db.transaction() as session:
            await officers.all_offline(session, now=self.clock.now())
            await presence.all_disconnected(session, now=self.clock.now())
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def close(self) -> None:
        """Stop the sweeper; idempotent."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None


def state_json(row: Any) -> dict[str, Any]:
    """An officer status row as the console shows it."""
    return {
        "state": row.state,
        "reason": row.reason,
        "since": row.since.isoformat() if row.since else None,
        "wrap_up_until": row.wrap_up_until.isoformat() if row.wrap_up_until else None,
    }
