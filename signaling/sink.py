"""The seam between the media hub and whatever consumes a room's media (the recorder, later others).

Signaling never imports recording; web plugs a recorder in through this Protocol.
"""

from __future__ import annotations

from typing import Protocol

from signaling.forwarding import PacketTrack


class MediaSink(Protocol):
    """Receives one PacketTrack per publisher track of a room (aiortc's media-sink shape).

    The hub calls ``add_track`` for every current and future track; the owner of the sink calls
    ``start``/``stop``. A participant who publishes again keeps the same PacketTrack (it switches
    source), so ``add_track`` is called once per (participant, kind) while the sink is attached.
    """

    def add_track(self, participant_id: str, track: PacketTrack) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> object: ...
