"""The hub's rooms: who is in them, what each participant publishes, and which server-to-client
transceiver ("slot") carries which other participant's track.

Owns the all-see-all assignment of slots (reconcile) and the attaching of slots to publications;
the aiortc negotiation around it lives in ``signaling.hub``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCRtpTransceiver

from signaling.forwarding import PacketTrack, Publication
from signaling.negotiation import KINDS, MediaParameters, RemoteTrack, ServerOffer
from signaling.sink import MediaSink

OfferSender = Callable[[ServerOffer], None]


@dataclass(frozen=True, slots=True)
class ParticipantInfo:
    """How a participant is labelled for the others (tiles): display name and role."""

    name: str = ""
    role: str = ""


@dataclass(slots=True, eq=False)
class Slot:
    """A server-to-client transceiver (sendonly from the hub's side) carrying one remote track."""

    kind: str
    transceiver: RTCRtpTransceiver
    track: PacketTrack
    source: str | None = None  # participant id; None = inactive, free for the next one
    live: bool = False  # the assignment was in an answered offer: media may flow


@dataclass(slots=True, eq=False)
class Peer:
    """One participant's current peer connection to the hub."""

    participant_id: str
    pc: RTCPeerConnection
    info: ParticipantInfo
    send_offer: OfferSender
    parameters: dict[str, MediaParameters]
    publications: dict[str, Publication] = field(default_factory=dict)  # kind -> what it sends
    slots: list[Slot] = field(default_factory=list)
    dirty: bool = False  # the room changed since the last offer was made
    outstanding: ServerOffer | None = None
    answering: bool = False
    task: asyncio.Task[None] | None = None


@dataclass(slots=True, eq=False)
class SinkEntry:
    sink: MediaSink
    tracks: dict[tuple[str, str], PacketTrack] = field(default_factory=dict)  # (participant, kind)


@dataclass(slots=True, eq=False)
class Room:
    room_id: str
    peers: dict[str, Peer] = field(default_factory=dict)  # insertion order = join order
    sinks: list[SinkEntry] = field(default_factory=list)
    revisions: dict[str, int] = field(default_factory=dict)  # participant -> last offer revision

    def next_revision(self, participant_id: str) -> int:
        """The revision of the participant's next server offer (1, 2, … across its peer
        connections, so that an answer for a replaced one is recognised as stale)."""
        revision = self.revisions.get(participant_id, 0) + 1
        self.revisions[participant_id] = revision
        return revision

    def remote_track(self, slot: Slot) -> RemoteTrack:
        """What ``slot`` carries, labelled with its publisher's name and role."""
        source = slot.source or ""
        publisher = self.peers.get(source)
        info = publisher.info if publisher is not None else ParticipantInfo()
        return RemoteTrack(source, slot.kind, info.name, info.role)


def reconcile(room: Room, peer: Peer, new_slot: Callable[[str], Slot]) -> bool:
    """Point ``peer``'s slots at every other participant's published tracks.

    A slot whose participant left (or stopped publishing that kind) is detached and set
    inactive; a wanted track gets a free slot of its kind or a new one (``new_slot(kind)``).
    Transceivers change only here, between offers. Returns True if an offer is due.
    """
    wanted = [
        (other_id, kind)
        for other_id, other in room.peers.items()
        if other_id != peer.participant_id
        for kind in KINDS
        if kind in other.publications
    ]
    changed = False
    for slot in peer.slots:
        if slot.source is not None and (slot.source, slot.kind) not in wanted:
            slot.track.attach(None)
            slot.track.clear()  # nothing of the one who left goes out under the next one's mid
            slot.source, slot.live = None, False
            slot.transceiver.direction = "inactive"
            changed = True
    assigned = {(slot.source, slot.kind) for slot in peer.slots if slot.source is not None}
    for source, kind in wanted:
        if (source, kind) in assigned:
            continue
        free = next((s for s in peer.slots if s.kind == kind and s.source is None), None)
        slot = free if free is not None else new_slot(kind)
        if free is None:
            peer.slots.append(slot)
        slot.source, slot.live = source, False
        slot.transceiver.direction = "sendonly"
        changed = True
    return changed


def attach_live_slots(room: Room, peer: Peer) -> None:
    """Feed each negotiated slot of ``peer`` from its participant's current publication (a new
    one after a re-publish, none after a leave); a no-op for slots already fed from it."""
    for slot in peer.slots:
        if slot.live and slot.source is not None:
            publisher = room.peers.get(slot.source)
            slot.track.attach(
                publisher.publications.get(slot.kind) if publisher is not None else None
            )
