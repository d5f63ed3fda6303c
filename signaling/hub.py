"""The media hub: one aiortc peer connection per participant, packets forwarded between them.

Owns the rooms' peer connections, the routing of publications to subscribers and sinks, and their
lifetimes. Nothing here decodes or re-encodes media.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
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
from signaling.negotiation import (
    ServerOffer,
    negotiated_parameters,
    pin_offer,
)
from signaling.passthrough import (
    forward_keyframe_requests,
    install_passthrough,
    send_picture_loss,
)
from signaling.rooms import (
    OfferSender,
    ParticipantInfo,
    Peer,
    Room,
    SinkEntry,
    Slot,
    attach_live_slots,
    reconcile,
)
from signaling.sink import MediaSink

__all__ = [
    "MediaHub",
    "MediaHubError",
    "OfferSender",
    "ParticipantInfo",
    "SessionDescription",
    "StaleAnswer",
]

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


class StaleAnswer(MediaHubError):
    """An answer to a server offer that is not the participant's outstanding one."""


def _drop_offer(offer: ServerOffer) -> None:
    logger.info(
        "[room %s] %s: no signaling to send offer %d to",
        offer.room_id,
        offer.participant_id,
        offer.revision,
    )


def _codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    capabilities = RTCRtpSender.getCapabilities(kind)
    return [c for c in capabilities.codecs if c.mimeType.lower() in ALLOWED_MIME_TYPES[kind]]


class MediaHub:
    """Rooms of participants, each with one peer connection to this server (all-see-all).

    A participant's own offer negotiates what it publishes (the hub only receives on those
    m-sections). Every other participant's audio and video reach it on server-added sendonly
    transceivers, negotiated by server offers (``send_offer``): one outstanding offer per
    participant, later changes coalesced into the next. A transceiver whose participant left goes
    inactive and is reused for the next track of its kind (aiortc cannot stop one in an offer).
    A participant who publishes again replaces its old peer connection; the others' transceivers
    switch source without renegotiation when the new one publishes the same kinds.
    """

    def __init__(
        self, *, ice_servers: Sequence[RTCIceServer] = (), queue_packets: int = 256
    ) -> None:
        install_passthrough()
        self._ice_servers = list(ice_servers)
        self._queue_packets = queue_packets
        self._rooms: dict[str, Room] = {}
        self._counters = ForwardingCounters()
        self._state_callback: StateCallback | None = None
        self._callback_tasks: set[asyncio.Task[None]] = set()
        self._offers = 0
        self._closed = False

    # --- publishing -------------------------------------------------------------------------

    async def publish(
        self,
        room_id: str,
        participant_id: str,
        offer: SessionDescription,
        *,
        info: ParticipantInfo | None = None,
        send_offer: OfferSender = _drop_offer,
    ) -> SessionDescription:
        """Answer ``offer`` (the hub receives its audio/video, VP8 + Opus) and start forwarding.

        The answer holds every server ICE candidate (aiortc gathers before answering). If the
        participant already has a peer connection, it is replaced once the new one is set up.
        The others' tracks follow in server offers passed to ``send_offer``; the first is made
        only after this call has returned, so a caller that replies with the answer before
        awaiting anything else delivers the answer first. Raises MediaHubError if the hub is
        closed or the offer cannot be answered.
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
        configuration = RTCConfiguration(
            iceServers=self._ice_servers or None, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        pc = RTCPeerConnection(configuration)
        # Only for the kinds offered: aiortc cannot answer with a transceiver the offer lacks.
        # Made before setRemoteDescription, they are matched to the offer's first m-section of
        # their kind, so the codec preferences apply to the answer.
        own = []
        for kind in (k for k in KINDS if k in offered):
            transceiver = pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(_codec_preferences(kind))
            own.append(transceiver)
        peer = Peer(participant_id, pc, info or ParticipantInfo(), send_offer, {})
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type=offer.type))
            for transceiver in pc.getTransceivers():
                if transceiver not in own:
                    # A second camera or a screen share: declined, so that nobody sends media
                    # the hub would not read.
                    transceiver.direction = "inactive"
            await pc.setLocalDescription(await pc.createAnswer())
            peer.parameters = negotiated_parameters(pc.localDescription.sdp, ALLOWED_MIME_TYPES)
        except NEGOTIATION_ERRORS as exc:
            await self._close_peer(peer)
            raise MediaHubError(f"{who}: the offer cannot be answered: {exc}") from exc
        if self._closed:  # closed while we were negotiating
            await self._close_peer(peer)
            raise MediaHubError(f"{who}: the media hub is closed")

        for transceiver in own:
            remote = transceiver.receiver.track
            if remote is not None and transceiver.currentDirection in ("recvonly", "sendrecv"):
                peer.publications[transceiver.kind] = self._publication(
                    participant_id, remote, transceiver.receiver
                )
        pc.on("connectionstatechange", lambda: self._report_state(room_id, peer))

        room = self._rooms.setdefault(room_id, Room(room_id))
        old = room.peers.pop(participant_id, None)
        room.peers[participant_id] = peer
        self._feed_sinks(room, peer)
        for publication in peer.publications.values():
            publication.start()
        if old is not None:
            logger.info("%s: published again, replacing the old peer connection", who)
            await self._close_peer(old)
        self._room_changed(room)
        local = pc.localDescription
        return SessionDescription(sdp=local.sdp, type=local.type)

    def _publication(
        self, participant_id: str, remote: MediaStreamTrack, receiver: RTCRtpReceiver
    ) -> Publication:
        async def send_pli() -> bool:
            return await send_picture_loss(receiver)

        return Publication(participant_id, remote, send_pli=send_pli, counters=self._counters)

    def _feed_sinks(self, room: Room, peer: Peer) -> None:
        for entry in room.sinks:
            self._feed_sink(entry, peer)

    def _feed_sink(self, entry: SinkEntry, peer: Peer) -> None:
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

    # --- renegotiation ------------------------------------------------------------------------

    def _room_changed(self, room: Room) -> None:
        """Someone joined, left or published again: switch sources, renegotiate who needs it."""
        for peer in room.peers.values():
            attach_live_slots(room, peer)
            peer.dirty = True
            self._schedule(room, peer)

    def _schedule(self, room: Room, peer: Peer) -> None:
        if peer.task is None and peer.outstanding is None and peer.dirty and not self._closed:
            peer.task = asyncio.create_task(
                self._negotiate(room, peer), name=f"negotiate {room.room_id} {peer.participant_id}"
            )

    async def _negotiate(self, room: Room, peer: Peer) -> None:
        """Make one server offer if the room changed what ``peer`` should receive."""
        who = f"[room {room.room_id}] participant {peer.participant_id}"
        try:
            while (
                peer.dirty
                and peer.outstanding is None
                and room.peers.get(peer.participant_id) is peer
            ):
                peer.dirty = False
                if not reconcile(room, peer, lambda kind: self._new_slot(peer, kind)):
                    continue
                offer = await peer.pc.createOffer()
                pinned = pin_offer(offer.sdp, peer.parameters)
                await peer.pc.setLocalDescription(RTCSessionDescription(sdp=pinned, type="offer"))
                revision = room.next_revision(peer.participant_id)
                tracks = {
                    slot.transceiver.mid: room.remote_track(slot)
                    for slot in peer.slots
                    if slot.source is not None and slot.transceiver.mid is not None
                }
                server_offer = ServerOffer(
                    room.room_id,
                    peer.participant_id,
                    revision,
                    peer.pc.localDescription.sdp,
                    tracks,
                )
                peer.outstanding = server_offer
                self._offers += 1
                peer.send_offer(server_offer)
        except NEGOTIATION_ERRORS as exc:
            logger.error("%s: a server offer could not be made: %s", who, exc)
        finally:
            peer.task = None

    def _new_slot(self, peer: Peer, kind: str) -> Slot:
        track = PacketTrack(kind, capacity=self._queue_packets, counters=self._counters)
        transceiver = peer.pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(_codec_preferences(kind))
        # Each subscriber's PLI/FIR reaches the publisher its slot is fed from.
        forward_keyframe_requests(transceiver.sender, track.request_keyframe)
        return Slot(kind, transceiver, track)

    async def accept_answer(
        self, room_id: str, participant_id: str, revision: int, answer: SessionDescription
    ) -> None:
        """Apply the participant's answer to server offer ``revision``; its new tracks start.

        Raises StaleAnswer if ``revision`` is not the participant's outstanding offer (answered
        already, or made for a peer connection since replaced), MediaHubError if the answer
        cannot be applied (the offer stays outstanding: a corrected answer may follow).
        """
        who = f"[room {room_id}] participant {participant_id}"
        room = self._rooms.get(room_id)
        peer = room.peers.get(participant_id) if room is not None else None
        if room is None or peer is None or peer.outstanding is None or peer.answering:
            raise StaleAnswer(f"{who}: no server offer is waiting for an answer")
        if peer.outstanding.revision != revision:
            raise StaleAnswer(
                f"{who}: answer to offer {revision}, but offer {peer.outstanding.revision} "
                "is the one waiting"
            )
        if answer.type != "answer":
            raise MediaHubError(f"{who}: expected an SDP answer, got type {answer.type!r}")
        peer.answering = True
        try:
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        except NEGOTIATION_ERRORS as exc:
            raise MediaHubError(f"{who}: the answer cannot be applied: {exc}") from exc
        finally:
            peer.answering = False
        if room.peers.get(participant_id) is not peer:
            return  # replaced or gone meanwhile
        peer.outstanding = None
        for slot in peer.slots:
            slot.live = slot.source is not None
        attach_live_slots(room, peer)
        self._schedule(room, peer)

    def rebind(self, room_id: str, participant_id: str, send_offer: OfferSender) -> None:
        """Send the participant's later offers through ``send_offer`` (a new signaling
        connection), and resend the outstanding one, if any, there."""
        room = self._rooms.get(room_id)
        peer = room.peers.get(participant_id) if room is not None else None
        if peer is None:
            return
        peer.send_offer = send_offer
        if peer.outstanding is not None:
            send_offer(peer.outstanding)

    # --- sinks --------------------------------------------------------------------------------

    def attach_sink(self, room_id: str, sink: MediaSink) -> None:
        """Give ``sink`` a PacketTrack for every current and future publisher track of the room."""
        if self._closed:
            raise MediaHubError(f"[room {room_id}] cannot attach a sink: the media hub is closed")
        room = self._rooms.setdefault(room_id, Room(room_id))
        if any(entry.sink is sink for entry in room.sinks):
            return
        entry = SinkEntry(sink)
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
        await self._close_peer(peer)
        if self._rooms.get(room_id) is room:
            self._room_changed(room)
            self._forget_if_empty(room)

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

    def _forget_if_empty(self, room: Room) -> None:
        if not room.peers and not room.sinks and self._rooms.get(room.room_id) is room:
            del self._rooms[room.room_id]

    async def _close_peer(self, peer: Peer) -> None:
        task, peer.task = peer.task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        peer.outstanding = None
        for publication in peer.publications.values():
            await publication.close()
        for slot in peer.slots:
            slot.track.stop()
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

    def _report_state(self, room_id: str, peer: Peer) -> None:
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
        """Rooms and peers now; forwarded/dropped packets, keyframe requests and server offers
        since start."""
        return {
            "rooms": len(self._rooms),
            "peers": sum(len(room.peers) for room in self._rooms.values()),
            "forwarded_packets": self._counters.forwarded,
            "dropped_packets": self._counters.dropped,
            "keyframe_requests": self._counters.keyframe_requests,
            "server_offers": self._offers,
        }
