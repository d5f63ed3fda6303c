"""The live side of meetings: each use case of `hall.meetings` runs in one transaction, and
after it committed the meeting's topic `meeting:<id>` gets the events (the lobby and
participants' state, host controls, denials, the end)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from hall.db import Database
from hall.meetings import lobby
from hall.meetings.links import LinkSigner
from hall.meetings.scheduling import get_meeting
from hall.ports import Clock, EventBus
from hall.settings import MeetingSettings

T = TypeVar("T")


class MeetingService:
    """Runs meeting use cases and publishes what changed after commit."""

    def __init__(
        self,
        *,
        db: Database,
        bus: EventBus,
        clock: Clock,
        settings: MeetingSettings,
        signer: LinkSigner,
    ) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock
        self.settings = settings
        self.signer = signer

    async def run(
        self, meeting_id: int | None, use_case: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        """Run `use_case` in one transaction; then, if it concerned a meeting, publish its
        state (`meeting`)."""
        async with self.db.transaction() as session:
            result = await use_case(session)
        if meeting_id is not None:
            await self.changed(meeting_id)
        return result

    async def changed(self, meeting_id: int) -> None:
        """Publish the meeting's current state on its topic."""
        async with self.db.reader() as session:
            meeting = await get_meeting(session, meeting_id)
            state = await lobby.snapshot(session, meeting)
        self.bus.publish(f"meeting:{meeting_id}", "meeting", state)

    def control(self, meeting_id: int, participant_id: int, action: str, **data: Any) -> None:
        """A host control addressed to one participant (mute, remove, role, ...)."""
        self.bus.publish(
            f"meeting:{meeting_id}",
            "meeting_control",
            {"participant_id": participant_id, "action": action, **data},
        )

    def denied(self, meeting_id: int, participant_id: int, message: str) -> None:
        """The host refused a waiting participant, with a message for them."""
        self.bus.publish(
            f"meeting:{meeting_id}",
            "lobby_denied",
            {"participant_id": participant_id, "message": message},
        )

    def ended(self, meeting_id: int) -> None:
        """The host ended the meeting for all."""
        self.bus.publish(f"meeting:{meeting_id}", "meeting_ended", {"meeting_id": meeting_id})
