"""Sample media and test participants: VP8 + Opus WebM files made with the ffmpeg CLI, and aiortc
client peers that send them as encoded packets."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError


def make_sample_webm(
    path: Path,
    seconds: float = 6.0,
    *,
    size: tuple[int, int] = (640, 480),
    fps: int = 30,
    tone_hz: int = 440,
    keyframe_every_s: float = 1.0,
) -> Path:
    """Write a VP8 + Opus WebM of ``seconds`` (testsrc2 picture, sine tone) to ``path``.

    One keyframe per ``keyframe_every_s`` (browsers send them rarely, and on request), realtime
    encoder settings, ~1 Mbit/s: the kind of stream a browser sends. Returns ``path``.
    """
    gop = str(max(1, round(fps * keyframe_every_s)))
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg is not installed; the media tests need the ffmpeg CLI")
    width, height = size
    path.parent.mkdir(parents=True, exist_ok=True)
    args = [
        ffmpeg,
        "-nostdin",
        "-y",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={fps}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={tone_hz}:sample_rate=48000",
        "-t",
        f"{seconds:.3f}",
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "1M",
        "-g",
        gop,
        "-keyint_min",
        gop,
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "libopus",
        "-b:a",
        "64k",
        "-ac",
        "2",
        str(path),
    ]
    result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg could not make {path}: {result.stderr.strip()}")
    return path


@dataclass(frozen=True, slots=True)
class Received:
    """One item a test client got from the server, reduced to what the tests look at."""

    at: float  # time.monotonic() on arrival
    is_packet: bool
    pts: int | None
    keyframe: bool


class PlayerClient:
    """A test participant: one aiortc peer connection sending a file's encoded packets.

    Sends with ``MediaPlayer(decode=False)`` (cheap, like the load generators) and records every
    item received per kind. Use ``offer()``, hand it to the server, then ``accept(answer)``.
    """

    def __init__(self, media: Path, *, video: bool = True) -> None:
        # No public STUN server (aiortc adds one when iceServers is left unset): host candidates.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.player = MediaPlayer(str(media), decode=False)
        self.received: dict[str, list[Received]] = {"audio": [], "video": []}
        self._tasks: list[asyncio.Task[None]] = []
        audio_track, video_track = self.player.audio, self.player.video
        if audio_track is None or video_track is None:
            raise RuntimeError(f"{media} needs an audio and a video stream")
        self.pc.addTrack(audio_track)
        if video:
            self.pc.addTrack(video_track)
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.create_task(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        items = self.received[track.kind]
        while True:
            try:
                item = await track.recv()
            except MediaStreamError:
                return
            is_packet = isinstance(item, av.Packet)
            keyframe = isinstance(item, av.Packet) and bool(item.is_keyframe)
            items.append(Received(time.monotonic(), is_packet, item.pts, keyframe))

    async def offer(self) -> tuple[str, str]:
        """(sdp, type) of an offer whose ICE gathering is complete."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        local = self.pc.localDescription
        return local.sdp, local.type

    async def accept(self, sdp: str, type_: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=type_))

    async def close(self) -> None:
        await self.pc.close()
        for track in (self.player.audio, self.player.video):
            if track is not None:
                track.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def wait_for(
    condition: Callable[[], bool], *, within: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``condition`` every 20 ms; AssertionError naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)
