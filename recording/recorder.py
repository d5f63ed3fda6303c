"""RoomRecorder: a room participant (like Galène's disk writer) writing one WebM per participant.

Owns the per-participant files: encoded VP8/Opus packets are muxed as they are (no decoding, no
encoding) on a common room clock, by a writer thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import io
import logging
import queue
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
from aiortc.mediastreams import MediaStreamError
from av.container import OutputContainer
from av.stream import Stream

from recording import layout

logger = logging.getLogger(__name__)

MS = Fraction(1, 1000)  # Matroska's timestamp unit
# What every browser sends: stereo Opus at 48 kHz, 312 samples of encoder delay (RFC 7845 §5.1).
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, 48000, 0, 0)
MAX_PENDING_PACKETS = 1000  # bound on audio buffered while waiting for the first video keyframe
# How much a crash (SIGKILL, power loss of the process) can cost: the Matroska muxer keeps the
# cluster it is filling in memory and writes it out when the next one starts. By default a seekable
# file gets 5 s (or 5 MB) clusters, and browsers send keyframes only every few seconds, so a crash
# lost up to ~5 s. Clusters of at most 1 s, each flushed to the OS as soon as it is written, bound
# the loss to about 1 s (+ the interleaving of the last packets). docs/operations.md, "Crash".
CLUSTER_MS = 1000
MUXER_OPTIONS = {"cluster_time_limit": str(CLUSTER_MS), "flush_packets": "1"}


class PacketSource(Protocol):
    """What the recorder reads: ``recv()`` raises aiortc's MediaStreamError when the track ends."""

    kind: str

    async def recv(self) -> av.Packet[Any]: ...

    def request_keyframe(self) -> None: ...


class RecordingError(Exception):
    """A participant file could not be written; the message names the file and the cause."""


@dataclass(frozen=True, slots=True)
class ParticipantRecording:
    """One participant's finished file; timestamps are seconds on the room clock (0 = start())."""

    participant_id: str
    path: Path
    has_video: bool
    has_audio: bool
    first_timestamp_s: float
    last_timestamp_s: float
    video_size: tuple[int, int] | None


def vp8_frame_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 keyframe header (RFC 6386 §9.1), None for other frames."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return width, height


def opus_duration_ms(packet: bytes) -> float:
    """Duration of an Opus packet from its TOC byte (RFC 6716 §3.1); 0 if malformed."""
    if not packet:
        return 0.0
    config, code = packet[0] >> 3, packet[0] & 0x03
    if config < 12:
        frame_ms = (10.0, 20.0, 40.0, 60.0)[config % 4]
    elif config < 16:
        frame_ms = (10.0, 20.0)[config % 2]
    else:
        frame_ms = (2.5, 5.0, 10.0, 20.0)[config % 4]
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = packet[1] & 0x3F if len(packet) > 1 else 0
    return frame_ms * frames


# --- the writer thread ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Open:
    key: str
    part: Path
    final: Path
    video_size: tuple[int, int] | None
    audio: bool


@dataclass(frozen=True, slots=True)
class _Mux:
    key: str
    kind: str
    packet: av.Packet[Any]


@dataclass(frozen=True, slots=True)
class _Close:
    key: str


_Command = _Open | _Mux | _Close


class _MuxThread:
    """Runs every container operation of one recorder; errors are kept per file, never raised."""

    def __init__(self, name: str) -> None:
        self._commands: queue.SimpleQueue[_Command | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"recorder {name}", daemon=True)
        self._files: dict[str, tuple[OutputContainer, dict[str, Stream]]] = {}
        self._paths: dict[str, tuple[Path, Path]] = {}
        self.errors: dict[str, str] = {}  # read only after finish()

    def start(self) -> None:
        self._thread.start()

    def submit(self, command: _Command) -> None:
        self._commands.put(command)

    async def finish(self) -> None:
        """Process what is queued, close every file and end the thread."""
        if not self._thread.is_alive():
            return
        self._commands.put(None)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        while (command := self._commands.get()) is not None:
            if command.key in self.errors:
                continue
            try:
                if isinstance(command, _Open):
                    self._open(command)
                elif isinstance(command, _Mux):
                    container, streams = self._files[command.key]
                    command.packet.stream = streams[command.kind]
                    container.mux(command.packet)
                else:
                    self._close(command.key)
            except (av.FFmpegError, OSError, ValueError) as exc:
                part, _ = self._paths.get(command.key, (Path(command.key), Path()))
                self.errors[command.key] = f"{part}: {exc}"
                logger.error("recorder: writing %s failed: %s", part, exc)
                self._abandon(command.key)
        for key in list(self._files):
            self._abandon(key)

    def _open(self, command: _Open) -> None:
        self._paths[command.key] = (command.part, command.final)
        command.part.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(command.part), "w", format="webm", options=MUXER_OPTIONS)
        streams: dict[str, Stream] = {}
        self._files[command.key] = (container, streams)
        if command.video_size is not None:
            width, height = command.video_size
            video = container.add_mux_stream("libvpx", width=width, height=height)
            video.time_base = MS
            streams["video"] = video
        if command.audio:
            # add_mux_stream cannot set channels or extradata; a stream copied from a template
            # carries a codec context that is never opened (no encoder) and whose parameters
            # (our OpusHead, layout, rate) are written to the header.
            with av.open(io.BytesIO(), "w", format="webm") as scratch:
                template = scratch.add_stream("libopus", rate=48000)
                audio = container.add_stream_from_template(template, opaque=True)
            audio.codec_context.extradata = OPUS_HEAD
            audio.codec_context.layout = "stereo"
            audio.codec_context.sample_rate = 48000
            audio.time_base = MS
            streams["audio"] = audio

    def _close(self, key: str) -> None:
        container, _ = self._files.pop(key)
        container.close()
        part, final = self._paths[key]
        part.replace(final)

    def _abandon(self, key: str) -> None:
        # Leaves the .part file for recovery/quarantine at startup.
        entry = self._files.pop(key, None)
        if entry is not None:
            try:
                entry[0].close()
            except (av.FFmpegError, OSError, ValueError) as exc:
                logger.warning("recorder: closing %s after an error failed: %s", key, exc)


# --- the event-loop side ----------------------------------------------------------------------


@dataclass(slots=True)
class _TrackClock:
    """Maps one track's packet timestamps onto the room clock, fixed at its first packet."""

    first_pts: int | None = None
    offset_ms: int = 0
    last_src_pts: int | None = None
    stale: int = 0  # packets dropped because they did not advance the track's own clock


@dataclass(slots=True, eq=False)
class _Participant:
    participant_id: str
    key: str
    part: Path
    final: Path
    kinds: set[str] = field(default_factory=set)
    opened: bool = False
    file_kinds: frozenset[str] = frozenset()
    video_size: tuple[int, int] | None = None
    pending: list[tuple[str, av.Packet[Any]]] = field(default_factory=list)
    pending_since: float | None = None
    last_pts: dict[str, int] = field(default_factory=dict)
    first_ms: int | None = None
    last_ms: int = 0
    late_packets: int = 0


class RoomRecorder:
    """Records a room: one ``<name>-<participant>.webm`` per participant, VP8 + Opus as received.

    Shape of a media sink: ``add_track(participant_id, track)``, ``start()``, ``stop()``. A
    participant's file is opened at its first video keyframe (its size goes in the header), with
    early audio buffered; with no keyframe within ``audio_only_after_s`` it is opened audio-only.
    A track added again for the same participant and kind (a rejoin) continues the same file.
    """

    def __init__(
        self,
        directory: Path,
        *,
        name: str,
        audio_only_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._name = layout.safe_name(name)
        self._audio_only_after_s = audio_only_after_s
        self._clock = clock
        self._participants: dict[str, _Participant] = {}
        self._tracks: list[tuple[str, PacketSource]] = []
        self._readers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._writer = _MuxThread(self._name)
        self._started_at: float | None = None
        self._results: list[ParticipantRecording] | None = None

    def add_track(self, participant_id: str, track: PacketSource) -> None:
        """Record ``track`` in the participant's file, replacing its previous track of that kind."""
        if self._results is not None:
            raise RecordingError(f"recorder {self._name}: stopped, cannot add {participant_id}")
        if track.kind not in ("audio", "video"):
            raise RecordingError(f"recorder {self._name}: cannot record a {track.kind!r} track")
        self._participant(participant_id).kinds.add(track.kind)
        if self._started_at is None:
            self._tracks.append((participant_id, track))
        else:
            self._start_reader(participant_id, track)

    async def start(self) -> None:
        """Start the room clock and read every track added so far (idempotent)."""
        if self._started_at is not None or self._results is not None:
            return
        self._started_at = self._clock()
        self._writer.start()
        for participant_id, track in self._tracks:
            self._start_reader(participant_id, track)
        self._tracks.clear()

    async def stop(self) -> list[ParticipantRecording]:
        """Finish every file (``.part`` renamed to ``.webm``) and describe them (idempotent).

        Raises RecordingError naming each file that could not be written; the others are kept.
        """
        if self._results is not None:
            return list(self._results)
        self._results = []
        readers = list(self._readers.values())
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        self._readers.clear()
        for participant in self._participants.values():
            if not participant.opened and participant.pending:
                self._open(participant)
            if participant.opened:
                self._writer.submit(_Close(participant.key))
        await self._writer.finish()
        errors = self._writer.errors
        for participant in self._participants.values():
            if participant.opened and participant.key not in errors:
                self._results.append(self._describe(participant))
        if errors:
            raise RecordingError("; ".join(errors.values()))
        return list(self._results)

    async def close(self) -> None:
        """Same as stop(), for owners that only need the files closed (idempotent)."""
        try:
            await self.stop()
        except RecordingError as exc:
            logger.error("recorder %s: %s", self._name, exc)

    # --- internals ----------------------------------------------------------------------------

    def _participant(self, participant_id: str) -> _Participant:
        participant = self._participants.get(participant_id)
        if participant is None:
            stem = layout.participant_stem(self._name, participant_id)
            taken = {p.key for p in self._participants.values()}
            key, n = stem, 1
            while key in taken:
                n += 1
                key = f"{stem}-{n}"
            part, final = layout.participant_files(self._directory, key)
            participant = _Participant(participant_id, key, part=part, final=final)
            self._participants[participant_id] = participant
        return participant

    def _start_reader(self, participant_id: str, track: PacketSource) -> None:
        slot = (participant_id, track.kind)
        previous = self._readers.pop(slot, None)
        if previous is not None:
            previous.cancel()
        started_at = self._started_at if self._started_at is not None else self._clock()
        self._readers[slot] = asyncio.create_task(
            self._read(self._participants[participant_id], track, started_at),
            name=f"recorder {self._name} {participant_id} {track.kind}",
        )

    async def _read(
        self, participant: _Participant, track: PacketSource, started_at: float
    ) -> None:
        kind = track.kind
        clock = _TrackClock()
        if kind == "video":
            track.request_keyframe()
        try:
            while True:
                packet = await track.recv()
                self._on_packet(participant, clock, kind, packet, started_at)
        except MediaStreamError:
            logger.debug("recorder %s: %s track of %s ended", self._name, kind, participant.key)

    def _on_packet(
        self,
        participant: _Participant,
        clock: _TrackClock,
        kind: str,
        packet: av.Packet[Any],
        started_at: float,
    ) -> None:
        now = self._clock()
        if packet.pts is None or packet.time_base is None:
            return  # cannot be placed on the room clock
        if clock.first_pts is None:
            if kind == "video" and not packet.is_keyframe:
                return  # a file's video must start at a keyframe
            clock.first_pts = packet.pts
            clock.offset_ms = round((now - started_at) * 1000)
        elif clock.last_src_pts is not None and packet.pts <= clock.last_src_pts:
            # A duplicate or a frame that arrived after a newer one: writing it would overlap
            # audio or put video out of order, and players then stop at that point.
            clock.stale += 1
            return
        clock.last_src_pts = packet.pts
        pts = clock.offset_ms + round((packet.pts - clock.first_pts) * packet.time_base * 1000)
        last = participant.last_pts.get(kind)
        if last is not None and pts <= last:
            pts = last + 1  # two frames within one millisecond: keep the timestamps strictly rising
        participant.last_pts[kind] = pts
        packet.pts = pts
        packet.dts = pts
        packet.time_base = MS
        if kind == "audio":
            packet.duration = round(opus_duration_ms(bytes(packet)))
        elif participant.video_size is None:
            participant.video_size = vp8_frame_size(bytes(packet))

        if participant.opened:
            self._mux(participant, kind, packet)
            return
        participant.pending.append((kind, packet))
        if participant.pending_since is None:
            participant.pending_since = now
        if (
            kind == "video"
            or now - participant.pending_since >= self._audio_only_after_s
            or len(participant.pending) >= MAX_PENDING_PACKETS
        ):
            self._open(participant)

    def _open(self, participant: _Participant) -> None:
        kinds = {kind for kind, _ in participant.pending}
        if participant.video_size is None:
            kinds.discard("video")
            if "video" in participant.kinds:
                logger.warning(
                    "recorder %s: no video keyframe from %s, recording audio only",
                    self._name,
                    participant.key,
                )
        if "audio" in participant.kinds:
            kinds.add("audio")
        participant.opened = True
        participant.file_kinds = frozenset(kinds)
        self._writer.submit(
            _Open(
                participant.key,
                participant.part,
                participant.final,
                participant.video_size if "video" in kinds else None,
                "audio" in kinds,
            )
        )
        pending, participant.pending = participant.pending, []
        for kind, packet in pending:
            self._mux(participant, kind, packet)

    def _mux(self, participant: _Participant, kind: str, packet: av.Packet[Any]) -> None:
        if kind not in participant.file_kinds:
            participant.late_packets += 1
            if participant.late_packets == 1:
                logger.warning(
                    "recorder %s: %s arrived after %s was opened without it; dropped",
                    self._name,
                    kind,
                    participant.key,
                )
            return
        pts = packet.pts or 0
        if participant.first_ms is None or pts < participant.first_ms:
            participant.first_ms = pts
        participant.last_ms = max(participant.last_ms, pts + int(packet.duration or 0))
        self._writer.submit(_Mux(participant.key, kind, packet))

    def _describe(self, participant: _Participant) -> ParticipantRecording:
        return ParticipantRecording(
            participant_id=participant.participant_id,
            path=participant.final,
            has_video="video" in participant.file_kinds,
            has_audio="audio" in participant.file_kinds,
            first_timestamp_s=(participant.first_ms or 0) / 1000,
            last_timestamp_s=participant.last_ms / 1000,
            video_size=participant.video_size if "video" in participant.file_kinds else None,
        )
