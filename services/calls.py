"""Wires a visit's life to the media plane: call next opens a recorded media room, ending the
visit closes it, finalises the recording in the background and tells the terminal."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hall.accounts.users import Principal
from hall.cases.tables import Case
from hall.db import Database
from hall.ports import Clock
from hall.queue import tickets
from hall.queue.tables import Ticket
from hall.visits import recordings, visits
from hall.visits.tables import RecordingState, Visit
from recording import layout, postprocess
from recording.recorder import RoomRecorder
from recording.settings import RecordingSettings
from services import recovery
from services.queue import QueueService
from signaling.bus import LocalBus
from signaling.hub import MediaHub

logger = logging.getLogger(__name__)


def _facts(media: postprocess.MediaFile) -> dict[str, Any]:
    """A verified file's facts as the recording row stores them."""
    return {
        "path": str(media.path),
        "duration_s": media.duration_s,
        "size_bytes": media.size,
        "sha256": media.sha256,
        "streams": {"streams": [dataclasses.asdict(s) for s in media.streams]},
    }


@dataclass(eq=False)
class _LiveCall:
    visit_id: int
    room: str
    recorder: RoomRecorder


class CallService:
    """Owns the recorders of live visits and the background post-processing jobs."""

    def __init__(
        self,
        *,
        db: Database,
        hub: MediaHub,
        bus: LocalBus,
        clock: Clock,
        settings: RecordingSettings,
        queue: QueueService,
    ) -> None:
        self.db = db
        self.hub = hub
        self.bus = bus
        self.clock = clock
        self.settings = settings
        self.queue = queue
        self._calls: dict[int, _LiveCall] = {}
        self._jobs: set[asyncio.Task[None]] = set()
        hub.set_state_callback(self._peer_state)

    def _peer_state(self, room: str, participant: str, state: str) -> None:
        visit_id = visits.visit_id_of_room(room)
        if visit_id is not None:
            self.bus.publish(
                f"visit:{visit_id}", "peer_state", {"participant": participant, "state": state}
            )

    async def _open_room(self, visit_id: int) -> _LiveCall:
        room = visits.media_room(visit_id)
        directory = layout.room_folder(self.settings.directory, room)
        recorder = RoomRecorder(
            directory, name=room, audio_only_after_s=self.settings.audio_only_after_s
        )
        await recorder.start()
        self.hub.attach_sink(room, recorder)
        call = _LiveCall(visit_id=visit_id, room=room, recorder=recorder)
        self._calls[visit_id] = call
        return call

    async def call_next(self, officer: Principal) -> dict[str, Any]:
        """Call the officer's next ticket, open its recorded room and tell the terminal."""
        async with self.db.transaction() as session:
            called = await visits.call_next(
                session, officer, now=self.clock.now(), settings=self.queue.settings
            )
        return await self._started(officer, called)

    async def accept_offer(self, officer: Principal, ticket_id: int) -> dict[str, Any]:
        """The officer accepts an auto-offer: the visit starts as with "call next"."""
        async with self.db.transaction() as session:
            called = await visits.accept_offer(session, officer, ticket_id, now=self.clock.now())
        return await self._started(officer, called)

    async def _started(self, officer: Principal, called: visits.Called) -> dict[str, Any]:
        call = await self._open_room(called.visit.id)
        self.bus.publish(
            f"ticket:{called.ticket.id}",
            "visit_started",
            {"visit_id": called.visit.id, "room": call.room, "officer": officer.display_name},
        )
        await self.queue.announce_call(called.ticket, called.visit)
        await self.queue.officer_state_changed(officer.user_id)
        await self.queue.changed([called.line.id])
        return self._visit_json(called.visit, called.ticket, called.case)

    async def miss(self, officer: Principal, visit_id: int) -> dict[str, Any]:
        """过号: the visitor did not come; the ticket goes back (or becomes a no-show)."""
        async with self.db.transaction() as session:
            missed = await tickets.miss(
                session, officer, visit_id, now=self.clock.now(), settings=self.queue.settings
            )
        self.bus.publish(
            f"ticket:{missed.ticket.id}",
            "visit_missed",
            {"no_show": missed.no_show, "missed_count": missed.ticket.missed_count},
        )
        await self._close_room(visit_id, missed.visit.case_id)
        await self.queue.officer_state_changed(officer.user_id)
        await self.queue.changed([missed.ticket.line_id])
        return {
            "ticket_id": missed.ticket.id,
            "number": missed.ticket.number,
            "state": missed.ticket.state,
            "missed_count": missed.ticket.missed_count,
        }

    async def transfer(
        self, who: Principal, ticket_id: int, *, line: str, reason: str, keep_wait: bool
    ) -> dict[str, Any]:
        """Transfer or redirect a ticket; a visit in progress ends and its room closes."""
        async with self.db.transaction() as session:
            moved = await tickets.transfer(
                session,
                who,
                ticket_id,
                line_code=line,
                reason=reason,
                keep_wait=keep_wait,
                now=self.clock.now(),
                settings=self.queue.settings,
            )
        await self._moved(moved)
        if moved.ended_visit is not None:
            await self._close_room(moved.ended_visit.id, moved.ended_visit.case_id)
            await self.queue.officer_state_changed(who.user_id)
        await self.queue.changed([moved.old.line_id, moved.new.line_id])
        return moved_json(moved)

    async def undo_transfer(self, who: Principal, ticket_id: int) -> dict[str, Any]:
        async with self.db.transaction() as session:
            moved = await tickets.undo_transfer(
                session, who, ticket_id, now=self.clock.now(), settings=self.queue.settings
            )
        await self._moved(moved)
        await self.queue.changed([moved.old.line_id, moved.new.line_id])
        return moved_json(moved)

    async def _moved(self, moved: tickets.Transferred) -> None:
        # The terminal following the old ticket follows the new one from now on.
        self.bus.publish(
            f"ticket:{moved.old.id}",
            "ticket_moved",
            {"ticket_id": moved.new.id, "number": moved.new.number},
        )

    def _visit_json(self, visit: Visit, ticket: Ticket, case: Case) -> dict[str, Any]:
        return {
            "visit_id": visit.id,
            "room": visits.media_room(visit.id),
            "notes": visit.notes,
            "ticket": {"id": ticket.id, "number": ticket.number, "channel": ticket.channel},
            "case": {"id": case.id, "number": case.number, "summary": case.summary},
        }

    async def live_visit_of(self, officer: Principal) -> dict[str, Any] | None:
        """The officer's live visit, reopening its media room if this process lost it."""
        async with self.db.reader() as session:
            visit = await visits.live_visit_of(session, officer.user_id)
            if visit is None:
                return None
            ticket = await session.get_one(Ticket, visit.ticket_id)
            case = await session.get_one(Case, visit.case_id)
        if visit.id not in self._calls:
            await self._open_room(visit.id)
        return self._visit_json(visit, ticket, case)

    async def end_visit(
        self, officer: Principal, visit_id: int, outcome: str, notes: str | None
    ) -> dict[str, Any]:
        """End the visit, close its room, queue the recording job; returns the case identity."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            visit, case = await visits.end_visit(
                session,
                officer,
                visit_id,
                outcome=outcome,
                notes=notes,
                now=now,
                settings=self.queue.settings,
            )
            ticket = await session.get_one(Ticket, visit.ticket_id)
        # No query code here: every follower of the topic would read it; the terminal reads it
        # from its ticket's status (`hall.queue.live.holds_query_code`).
        self.bus.publish(
            f"ticket:{ticket.id}", "visit_ended", {"case_number": case.number, "outcome": outcome}
        )
        self.bus.publish(f"visit:{visit_id}", "visit_ended", {"case_number": case.number})
        await self._close_room(visit_id, case.id)
        await self.queue.officer_state_changed(officer.user_id)
        await self.queue.changed([ticket.line_id])
        return {"visit_id": visit_id, "case_id": case.id, "case_number": case.number}

    async def _close_room(self, visit_id: int, case_id: int) -> None:
        call = self._calls.pop(visit_id, None)
        room = visits.media_room(visit_id)
        if call is not None:
            self.hub.detach_sink(room, call.recorder)
        await self.hub.close_room(room)
        if call is None:
            return
        files = await call.recorder.stop()
        if not files:
            logger.warning("[visit %s] ended with nothing recorded", visit_id)
            return
        now = self.clock.now()
        composite_path = layout.composite_path(self.settings.directory, room)
        async with self.db.transaction() as session:
            rows = [
                await recordings.add(
                    session,
                    visit_id=visit_id,
                    case_id=case_id,
                    kind="participant",
                    participant=f.participant_id,
                    path=str(f.path),
                    now=now,
                )
                for f in files
            ]
            composite = await recordings.add(
                session,
                visit_id=visit_id,
                case_id=case_id,
                kind="composite",
                participant="",
                path=str(composite_path),
                now=now,
            )
        self._spawn(
            self._finalise(
                visit_id,
                [f.path for f in files],
                [r.id for r in rows],
                composite.id,
                composite_path,
            )
        )

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        job = asyncio.create_task(work)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _finalise(
        self,
        visit_id: int,
        files: list[Path],
        row_ids: list[int],
        composite_id: int,
        composite_path: Path,
    ) -> None:
        """Verify, hash and composite the files in subprocesses; record the facts in the case."""
        try:
            result = await postprocess.process_visit(
                files,
                composite_path.parent,
                self.settings,
                name=composite_path.stem,
            )
        except Exception as exc:
            logger.error("[visit %s] recording post-processing failed: %s", visit_id, exc)
            async with self.db.transaction() as session:
                for row_id in [*row_ids, composite_id]:
                    await recordings.mark_failed(session, row_id, error=str(exc))
            return
        now = self.clock.now()
        async with self.db.transaction() as session:
            for row_id, probed in zip(row_ids, result.participants, strict=True):
                row = await recordings.mark_ready(session, row_id, now=now, **_facts(probed))
                if not self.settings.keep_participant_files:
                    row.state = RecordingState.DISCARDED
            await recordings.mark_ready(session, composite_id, now=now, **_facts(result.composite))
        self.bus.publish(f"visit:{visit_id}", "recording_ready", {"recording_id": composite_id})

    async def wait_idle(self) -> None:
        """Wait until every post-processing job has finished (tests and shutdown)."""
        while self._jobs:
            await asyncio.gather(*list(self._jobs), return_exceptions=True)

    async def recover(self) -> None:
        """At start-up: visits left live by a crash are interrupted and their recordings, cut
        short, are adopted; then, in the background (``wait_idle()`` awaits it), the files are
        salvaged or quarantined and every unfinished recording is post-processed again."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            interrupted = await visits.interrupt_live(session, now=now)
            await recovery.adopt_leftovers(session, self.settings.directory, now=now)
        if interrupted:
            logger.warning("visits interrupted by a restart: %s", interrupted)
        self._spawn(self._recover_recordings())

    async def _recover_recordings(self) -> None:
        try:
            unfinished = await recovery.salvage_unfinished(self.db, self.settings, self.clock)
        except Exception:
            # A background job's edge: logged once; the rows stay for the next start-up.
            logger.exception("recording recovery failed")
            return
        for item in unfinished:
            await self._finalise(
                item.visit_id,
                [path for _, path in item.participants],
                [row_id for row_id, _ in item.participants],
                item.composite_id,
                item.composite_path,
            )

    async def close(self) -> None:
        """Stop every live recorder and finish running jobs; idempotent."""
        for visit_id in list(self._calls):
            call = self._calls.pop(visit_id)
            self.hub.detach_sink(call.room, call.recorder)
            await call.recorder.stop()
        await self.wait_idle()


def moved_json(moved: tickets.Transferred) -> dict[str, Any]:
    """A transfer's result: the ended and the new ticket."""
    return {
        "from": {"id": moved.old.id, "number": moved.old.number, "state": moved.old.state},
        "to": {"id": moved.new.id, "number": moved.new.number, "state": moved.new.state},
    }
