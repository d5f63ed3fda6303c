"""A test participant of a hub room: publishes with an aiortc PlayerClient through the hub API
and answers the hub's server offers in order, as the reference browser client does."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from signaling.hub import MediaHub, ParticipantInfo, SessionDescription, StaleAnswer
from signaling.negotiation import RemoteTrack, ServerOffer
from tests.media_fixtures import PlayerClient, Received


class Member:
    """One participant: ``publish()`` (again to re-publish), ``leave()``, ``close()``.

    ``tracks`` is the mid -> remote track map of the last answered server offer, and
    ``mapped_at`` when each mid got its current participant.
    """

    def __init__(
        self, hub: MediaHub, room: str, participant_id: str, media: Path, *, role: str = "test"
    ) -> None:
        self.hub = hub
        self.room = room
        self.participant_id = participant_id
        self.media = media
        self.info = ParticipantInfo(name=f"{participant_id}-name", role=role)
        self.client: PlayerClient | None = None
        self.tracks: dict[str, RemoteTrack] = {}
        self.mapped_at: dict[str, float] = {}
        self.offers: list[ServerOffer] = []
        self.answered: list[int] = []
        self._worker: asyncio.Task[None] | None = None

    async def publish(self, *, video: bool = True) -> None:
        """Open a (new) peer connection and publish; the old one, if any, is closed after."""
        old, old_worker = self.client, self._worker
        client = PlayerClient(self.media, video=video)
        queue: asyncio.Queue[ServerOffer] = asyncio.Queue()
        sdp, type_ = await client.offer()
        answer = await self.hub.publish(
            self.room,
            self.participant_id,
            SessionDescription(sdp=sdp, type=type_),
            info=self.info,
            send_offer=queue.put_nowait,
        )
        await client.accept(answer.sdp, answer.type)
        self.client = client
        self.tracks, self.mapped_at = {}, {}
        self._worker = asyncio.create_task(self._answer_offers(client, queue))
        await self._stop(old, old_worker)

    async def _answer_offers(self, client: PlayerClient, queue: asyncio.Queue[ServerOffer]) -> None:
        while True:
            offer = await queue.get()
            self.offers.append(offer)
            sdp = await client.answer(offer.sdp)
            try:
                await self.hub.accept_answer(
                    self.room,
                    self.participant_id,
                    offer.revision,
                    SessionDescription(sdp=sdp, type="answer"),
                )
            except StaleAnswer:
                continue  # the peer connection was replaced meanwhile
            self.answered.append(offer.revision)
            now = time.monotonic()
            for mid, track in offer.tracks.items():
                if self.tracks.get(mid) != track:
                    self.mapped_at[mid] = now
            self.tracks = dict(offer.tracks)

    def mid_of(self, participant_id: str, kind: str) -> str | None:
        return next(
            (
                mid
                for mid, track in self.tracks.items()
                if track.participant == participant_id and track.kind == kind
            ),
            None,
        )

    def received_from(self, participant_id: str, kind: str) -> list[Received]:
        """What arrived on the mid that now carries ``participant_id``'s ``kind``, since then."""
        mid = self.mid_of(participant_id, kind)
        if mid is None or self.client is None:
            return []
        since = self.mapped_at[mid]
        return [item for item in self.client.by_mid.get(mid, []) if item.at >= since]

    async def leave(self) -> None:
        await self.hub.leave(self.room, self.participant_id)
        await self.close()

    async def close(self) -> None:
        client, worker = self.client, self._worker
        self.client, self._worker = None, None
        self.tracks, self.mapped_at = {}, {}
        await self._stop(client, worker)

    @staticmethod
    async def _stop(client: PlayerClient | None, worker: asyncio.Task[None] | None) -> None:
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if client is not None:
            await client.close()
