"""The media hub: one aiortc peer connection per participant, packets forwarded between them.

Owns the rooms' peer connections, the routing of publications to subscribers and sinks, and their
lifetimes. Nothing here decodes or re-encodes media.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
    sdp,
)
from aiortc.exceptions import (
    InternalError,
    InvalidAccessError,
    InvalidStateError,
    OperationError,
)

from signaling.forwarding import ForwardingCounters, PacketTrack, Publication
from signaling.passthrough import (
    forward_keyframe_requests,
    install_passthrough,
    send_picture_loss,
)
from signaling.sink import MediaSink

logger = logging.getLogger(__name__)

KINDS = ("audio", "video")
# Codecs every browser has; rtx is kept for video so that NACKed packets can be retransmitted.
ALLOWED_MIME_TYPES = {"audio": ("audio/opus",), "video": ("video/vp8", "video/rtx")}
# What aiortc's SDP parser raises on malformed input (found by mutating real offers).
SDP_PARSE_ERRORS = (ValueError, AssertionError, StopIteration, IndexError, AttributeError, KeyError)
# aiortc raises these (or the parse errors above, on semantically wrong SDP) when negotiating.
NEGOTIATION_ERRORS = (
    *SDP_PARSE_ERRORS,
    InternalError,
    InvalidAccessError,
    InvalidStateError,
    OperationError,
)
StateCallback = Callable[[str, str, str], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """An SDP offer or answer as exchanged over the signaling WebSocket."""

    sdp: str
    type: str  # "offer" / "answer"


class MediaHubError(Exception):
    """A publish request the hub cannot serve; the message says which room and participant."""


@dataclass(slots=True, eq=False)
class _Peer:
    participant_id: str
    pc: RTCPeerConnection
    outputs: dict[str, PacketTrack]  # kind -> what the server sends to this participant
    publications: dict[str, Publication] = field(default_factory=dict)  # kind -> what it sends


@dataclass(slots=True, eq=False)
class _SinkEntry:
    sink: MediaSink
    tracks: dict[tuple[str, str], PacketTrack] = field(default_factory=dict)  # (participant, kind)


@dataclass(slots=True, eq=False)
class _Room:
    room_id: str
    peers: dict[str, _Peer] = field(default_factory=dict)  # insertion order = join order
    sinks: list[_SinkEntry] = field(default_factory=list)


def _codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    capabilities = RTCRtpSender.getCapabilities(kind)
    return [c for c in capabilities.codecs if c.mimeType.lower() in ALLOWED_MIME_TYPES[kind]]


class MediaHub:
    """Rooms of participants, each with one peer connection to this server.

    Routing: each participant receives the most recently joined *other* participant's audio and
    video. That is the whole call for 1:1 visits; meetings with more parties (one transceiver per
    remote participant, with renegotiation) come in a later issue. A participant who publishes
    again replaces its old peer connection; the others' PacketTracks switch source without
    renegotiation.
    """

    def __init__(
        self, *, ice_servers: Sequence[RTCIceServer] = (), queue_packets: int = 256
    ) -> None:
        install_passthrough()
        self._ice_servers = list(ice_servers)
        self._queue_packets = queue_packets
        self._rooms: dict[str, _Room] = {}
        self._counters = ForwardingCounters()
        self._state_callback: StateCallback | None = None
        self._callback_tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # --- publishing -------------------------------------------------------------------------

    async def publish(
        self, room_id: str, participant_id: str, offer: SessionDescription
    ) -> SessionDescription:
        """Answer ``offer`` (sendrecv audio + video, VP8 + Opus) and start forwarding.

        The answer holds every server ICE candidate (aiortc gathers before answering). If the
        participant already has a peer connection, it is replaced once the new one is set up.
        Raises MediaHubError if the hub is closed or the offer cannot be answered.
        """
        who = f"[room {room_id}] participant {participant_id}"
        if self._closed:
            raise MediaHubError(f"{who}: the media hub is closed")
        if offer.type != "offer":
            raise MediaHubError(f"{who}: expected an SDP offer, got type {offer.type!r}")
        try:
            offered = {media.kind for media in sdp.SessionDescription.parse(offer.sdp).media}
        except SDP_PARSE_ERRORS as exc:
            raise MediaHubError(f"{who}: the offer cannot be parsed: {exc!r}") from exc
        if not offered & set(KINDS):
            raise MediaHubError(f"{who}: the offer has neither audio nor video")
        configuration = RTCConfiguration(iceServers=self._ice_servers or None)
        pc = RTCPeerConnection(configuration)
        outputs: dict[str, PacketTrack] = {}
        # Only for the kinds offered: aiortc cannot answer with a transceiver the offer lacks.
        for kind in (k for k in KINDS if k in offered):
            track = PacketTrack(kind, capacity=self._queue_packets, counters=self._counters)
            # Transceivers made before setRemoteDescription are matched to the offer's m-lines
            # by kind, so the codec preferences apply to the answer and it is sendrecv even if
            # nobody else is in the room yet.
            transceiver = pc.addTransceiver(track, direction="sendrecv")
            transceiver.setCodecPreferences(_codec_preferences(kind))
            forward_keyframe_requests(transceiver.sender, track.request_keyframe)
            outputs[kind] = track
        peer = _Peer(participant_id, pc, outputs)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type=offer.type))
            for transceiver in pc.getTransceivers():
                if transceiver.sender.track is None:
                    # A second camera or a screen share: declined until meetings learn
                    # renegotiation, so that nobody sends media the hub would not read.
                    transceiver.direction = "inactive"
            await pc.setLocalDescription(await pc.createAnswer())
        except NEGOTIATION_ERRORS as exc:
            await self._close_peer(peer)
            raise MediaHubError(f"{who}: the offer cannot be answered: {exc}") from exc
        if self._closed:  # closed while we were negotiating
            await self._close_peer(peer)
            raise MediaHubError(f"{who}: the media hub is closed")

        for transceiver in pc.getTransceivers():
            remote = transceiver.receiver.track
            if transceiver.sender.track is not None and remote is not None:
                peer.publications[transceiver.kind] = self._publication(
                    participant_id, remote, transceiver.receiver
                )
        pc.on("connectionstatechange", lambda: self._report_state(room_id, peer))

        room = self._rooms.setdefault(room_id, _Room(room_id))
        old = room.peers.pop(participant_id, None)
        room.peers[participant_id] = peer
        self._route(room)
        self._feed_sinks(room, peer)
        for publication in peer.publications.values():
            publication.start()
        if old is not None:
            logger.info("%s: published again, replacing the old peer connection", who)
            await self._close_peer(old)
        local = pc.localDescription
        return SessionDescription(sdp=local.sdp, type=local.type)

    def _publication(
        self, participant_id: str, remote: MediaStreamTrack, receiver: RTCRtpReceiver
    ) -> Publication:
        async def send_pli() -> bool:
            return await send_picture_loss(receiver)

        return Publication(participant_id, remote, send_pli=send_pli, counters=self._counters)

    def _route(self, room: _Room) -> None:
        """Point every participant's outputs at the most recently joined other participant."""
        order = list(room.peers)
        for participant_id, peer in room.peers.items():
            others = [p for p in order if p != participant_id]
            target = room.peers[others[-1]] if others else None
            for kind, output in peer.outputs.items():
                output.attach(target.publications.get(kind) if target is not None else None)

    def _feed_sinks(self, room: _Room, peer: _Peer) -> None:
        for entry in room.sinks:
            self._feed_sink(entry, peer)

    def _feed_sink(self, entry: _SinkEntry, peer: _Peer) -> None:
        for kind, publication in peer.publications.items():
            key = (peer.participant_id, kind)
            track = entry.tracks.get(key)
            if track is None:
                track = PacketTrack(kind, capacity=self._queue_packets, counters=self._counters)
                entry.tracks[key] = track
                track.attach(publication)
                entry.sink.add_track(peer.participant_id, track)
            else:
                track.attach(publication)

    # --- sinks --------------------------------------------------------------------------------

    def attach_sink(self, room_id: str, sink: MediaSink) -> None:
        """Give ``sink`` a PacketTrack for every current and future publisher track of the room."""
        if self._closed:
            raise MediaHubError(f"[room {room_id}] cannot attach a sink: the media hub is closed")
        room = self._rooms.setdefault(room_id, _Room(room_id))
        if any(entry.sink is sink for entry in room.sinks):
            return
        entry = _SinkEntry(sink)
        room.sinks.append(entry)
        for peer in room.peers.values():
            self._feed_sink(entry, peer)

    def detach_sink(self, room_id: str, sink: MediaSink) -> None:
        """End the sink's tracks of this room (idempotent); the sink's owner still calls stop()."""
        room = self._rooms.get(room_id)
        if room is None:
            return
        for entry in [e for e in room.sinks if e.sink is sink]:
            room.sinks.remove(entry)
            for track in entry.tracks.values():
                track.stop()
        self._forget_if_empty(room)

    # --- leaving and closing ------------------------------------------------------------------

    async def leave(self, room_id: str, participant_id: str) -> None:
        """Close this participant's peer connection (idempotent); the others keep theirs."""
        room = self._rooms.get(room_id)
        peer = room.peers.pop(participant_id, None) if room is not None else None
        if room is None or peer is None:
            return
        self._route(room)
        self._forget_if_empty(room)
        await self._close_peer(peer)

    async def close_room(self, room_id: str) -> None:
        """Close every peer connection of the room and end its sinks' tracks (idempotent)."""
        room = self._rooms.pop(room_id, None)
        if room is None:
            return
        for entry in room.sinks:
            for track in entry.tracks.values():
                track.stop()
        peers = list(room.peers.values())
        room.peers.clear()
        await asyncio.gather(*(self._close_peer(peer) for peer in peers))

    async def close(self) -> None:
        """Close every room and wait for pending state callbacks (idempotent)."""
        self._closed = True
        for room_id in list(self._rooms):
            await self.close_room(room_id)
        tasks = list(self._callback_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget_if_empty(self, room: _Room) -> None:
        if not room.peers and not room.sinks and self._rooms.get(room.room_id) is room:
            del self._rooms[room.room_id]

    async def _close_peer(self, peer: _Peer) -> None:
        for publication in peer.publications.values():
            await publication.close()
        for track in peer.outputs.values():
            track.stop()
        try:
            await peer.pc.close()
        except AttributeError as exc:
            # aiortc trips over transceivers whose transport was never created (a rejected
            # offer); nothing of theirs was started, so there is nothing left to stop.
            logger.warning(
                "participant %s: closing a half-negotiated peer connection: %r",
                peer.participant_id,
                exc,
            )

    # --- observation --------------------------------------------------------------------------

    def participants(self, room_id: str) -> list[str]:
        """Participant ids of the room with a peer connection, in join order."""
        room = self._rooms.get(room_id)
        return list(room.peers) if room is not None else []

    def set_state_callback(self, cb: StateCallback) -> None:
        """Call ``cb(room_id, participant_id, connectionState)`` on every state change.

        Only the current peer connection of a participant is reported: the "closed" of a replaced
        or departed one is not, so it cannot be mistaken for the participant leaving.
        """
        self._state_callback = cb

    def _report_state(self, room_id: str, peer: _Peer) -> None:
        room = self._rooms.get(room_id)
        callback = self._state_callback
        if callback is None or room is None or room.peers.get(peer.participant_id) is not peer:
            return
        result = callback(room_id, peer.participant_id, peer.pc.connectionState)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._callback_tasks.add(task)
            task.add_done_callback(self._callback_tasks.discard)

    def stats(self) -> dict[str, int]:
        """Rooms and peers now; forwarded/dropped packets and keyframe requests since start."""
        return {
            "rooms": len(self._rooms),
            "peers": sum(len(room.peers) for room in self._rooms.values()),
            "forwarded_packets": self._counters.forwarded,
            "dropped_packets": self._counters.dropped,
            "keyframe_requests": self._counters.keyframe_requests,
        }
