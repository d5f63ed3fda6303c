"""Forwarding of encoded packets: a publisher's remote track fans out to subscriber PacketTracks.

Owns the per-subscriber bounded queue, its drop policy, keyframe gating and the timestamp rebase
that lets a subscriber switch publishers without renegotiation. Nothing here decodes.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

logger = logging.getLogger(__name__)

KEYFRAME_REQUEST_INTERVAL_S = 0.3
# Nominal frame spacing used as the minimum gap when a subscriber switches source: 30 fps video at
# 90 kHz, 20 ms Opus frames at 48 kHz.
NOMINAL_FRAME_TICKS = {"video": 3000, "audio": 960}
CLOCK_RATES = {"video": 90000, "audio": 48000}
# A publisher timestamp this far behind the last one is a clock that started over (followed),
# not a late frame (dropped).
CLOCK_RESET_S = 10


@dataclass(slots=True)
class ForwardingCounters:
    """Running totals shared by every track and publication of one hub."""

    forwarded: int = 0
    dropped: int = 0
    keyframe_requests: int = 0


class Publication:
    """One publisher's remote track: pumps its packets into the PacketTracks attached to it.

    ``send_pli`` asks the publisher for a keyframe (an RTCP PLI); it is throttled here, so that
    many subscribers asking at once cost the publisher one keyframe.
    """

    def __init__(
        self,
        participant_id: str,
        remote: MediaStreamTrack,
        *,
        send_pli: Callable[[], Coroutine[Any, Any, bool]] | None,
        counters: ForwardingCounters,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.participant_id = participant_id
        self.kind: str = remote.kind
        self._remote = remote
        self._send_pli = send_pli
        self._counters = counters
        self._clock = clock
        self._subscribers: set[PacketTrack] = set()
        self._pump: asyncio.Task[None] | None = None
        self._pli_tasks: set[asyncio.Task[bool]] = set()
        self._last_pli: float | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"Publication({self.participant_id!r}, {self.kind})"

    @property
    def subscribers(self) -> frozenset[PacketTrack]:
        return frozenset(self._subscribers)

    def start(self) -> None:
        """Start pumping packets from the remote track (idempotent)."""
        if self._pump is None and not self._closed:
            self._pump = asyncio.create_task(self._run(), name=f"pump {self!r}")

    async def _run(self) -> None:
        remote = self._remote
        subscribers = self._subscribers
        try:
            while True:
                packet = await remote.recv()
                if not isinstance(packet, av.Packet):
                    # Only possible if the pass-through hook was not installed.
                    logger.error("%r: got a decoded %s, stopping", self, type(packet).__name__)
                    return
                for track in tuple(subscribers):
                    track.push(packet, self)
        except MediaStreamError:
            logger.debug("%r: remote track ended", self)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per KEYFRAME_REQUEST_INTERVAL_S."""
        if self.kind != "video" or self._send_pli is None or self._closed:
            return
        now = self._clock()
        if self._last_pli is not None and now - self._last_pli < KEYFRAME_REQUEST_INTERVAL_S:
            return
        self._last_pli = now
        task = asyncio.create_task(self._send_pli(), name=f"pli {self!r}")
        self._pli_tasks.add(task)
        task.add_done_callback(self._pli_done)

    def _pli_done(self, task: asyncio.Task[bool]) -> None:
        self._pli_tasks.discard(task)
        if task.cancelled() or task.exception() is not None:
            return
        if task.result():
            self._counters.keyframe_requests += 1
        else:
            # No media SSRC known yet: let the next request through at once.
            self._last_pli = None

    async def close(self) -> None:
        """Stop pumping and detach every subscriber; they stay live, waiting for a new source."""
        if self._closed:
            return
        self._closed = True
        for track in tuple(self._subscribers):
            track.attach(None)
        tasks = [t for t in (self._pump, *self._pli_tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pump = None


class PacketTrack(MediaStreamTrack):
    """A track fed by a Publication whose ``recv()`` returns ``av.Packet``.

    Used as the sender track of a subscriber's peer connection (aiortc's sender ``pack()``s
    packets) and as the track handed to media sinks. Output timestamps are strictly increasing and
    continuous across source switches; after (re)attaching, video starts at a keyframe.
    """

    def __init__(
        self,
        kind: str,
        *,
        capacity: int = 256,
        counters: ForwardingCounters | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if kind not in CLOCK_RATES:
            raise ValueError(f"PacketTrack kind must be 'audio' or 'video', not {kind!r}")
        if capacity < 1:
            raise ValueError(f"PacketTrack capacity must be positive, not {capacity}")
        self.kind = kind
        self._capacity = capacity
        self._counters = counters if counters is not None else ForwardingCounters()
        self._clock = clock
        self._source: Publication | None = None
        self._queue: collections.deque[tuple[av.Packet[Any], int]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._waiting_keyframe = kind == "video"
        self._rebase_pending = True
        self._offset = 0  # output pts = input pts + offset, in the packet's time base
        self._last_pts: int | None = None
        self._last_src: int | None = None  # the current source's last forwarded timestamp
        self._last_push: float | None = None

    def __repr__(self) -> str:
        return f"PacketTrack({self.kind}, source={self._source!r})"

    @property
    def source(self) -> Publication | None:
        return self._source

    def attach(self, source: Publication | None) -> None:
        """Switch to ``source`` (None: no source); no-op if it is already the source.

        The next packet is rebased to follow the last one, video waits for a keyframe, and a
        keyframe is requested from the new publisher.
        """
        if self.readyState != "live":
            source = None  # an ended track never subscribes again
        if source is self._source:
            return
        if self._source is not None:
            self._source._subscribers.discard(self)
        self._source = source
        self._rebase_pending = True
        self._last_src = None
        if source is None:
            return
        source._subscribers.add(self)
        if self.kind == "video":
            self._waiting_keyframe = True
            source.request_keyframe()

    def request_keyframe(self) -> None:
        """Ask the current publisher for a keyframe (throttled by the publication)."""
        if self._source is not None:
            self._source.request_keyframe()

    def push(self, packet: av.Packet[Any], source: Publication) -> None:
        """Queue ``packet`` from ``source``; called by the publication's pump, never blocks."""
        if source is not self._source or self.readyState != "live":
            return
        counters = self._counters
        if self._waiting_keyframe:
            if not packet.is_keyframe:
                counters.dropped += 1
                self.request_keyframe()
                return
            self._waiting_keyframe = False
        if packet.pts is None:
            counters.dropped += 1  # cannot be placed on the output timeline
            return
        last_src = self._last_src
        if last_src is not None and packet.pts <= last_src:
            rate = CLOCK_RATES[self.kind]
            if last_src - packet.pts < CLOCK_RESET_S * rate:
                # A repeated or reordered frame: forwarding it as the newest would show an old
                # picture after newer ones and make the recorder write overlapping audio.
                counters.dropped += 1
                return
            self._rebase_pending = True  # the publisher's clock started over: follow it
        self._last_src = packet.pts
        pts = self._rebase(packet.pts, packet.time_base)
        queue = self._queue
        if len(queue) >= self._capacity:
            if self.kind == "video":
                # A video frame depends on the previous ones: dropping any of them makes the rest
                # undecodable, so flush everything and restart from the next keyframe.
                counters.dropped += len(queue) + 1
                queue.clear()
                self._waiting_keyframe = True
                self.request_keyframe()
                return
            queue.popleft()
            counters.dropped += 1
        queue.append((packet, pts))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _rebase(self, pts: int, time_base: Fraction | None) -> int:
        now = self._clock()
        last = self._last_pts
        if last is None:
            self._offset = -pts
        elif self._rebase_pending:
            # Follow the previous packet by the wall-clock gap (at least one frame), so that the
            # subscriber's jitter buffer sees time move forward as it really did.
            rate = CLOCK_RATES[self.kind] if time_base is None else round(1 / time_base)
            elapsed = 0.0 if self._last_push is None else now - self._last_push
            gap = max(NOMINAL_FRAME_TICKS[self.kind], round(elapsed * rate))
            self._offset = last + gap - pts
        elif pts + self._offset <= last:
            # The publisher's clock went backwards (or repeated): never let the output do so.
            self._offset = last + 1 - pts
        self._rebase_pending = False
        self._last_push = now
        out = pts + self._offset
        self._last_pts = out
        return out

    async def recv(self) -> av.Packet[Any]:
        """The next packet, as a new ``av.Packet`` with this track's timestamps."""
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.readyState != "live":
            raise MediaStreamError
        packet, pts = self._queue.popleft()
        # A copy per subscriber: the same source packet goes to several tracks whose senders set
        # their own timestamps.
        out = av.Packet(packet)  # type: ignore[arg-type]  # buffer protocol: one copy, not two
        out.pts = pts
        out.dts = pts
        out.time_base = packet.time_base
        out.is_keyframe = packet.is_keyframe
        self._counters.forwarded += 1
        return out

    def stop(self) -> None:
        """End the track: detach from its source and wake a pending ``recv()``."""
        self.attach(None)
        self._queue.clear()
        super().stop()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
