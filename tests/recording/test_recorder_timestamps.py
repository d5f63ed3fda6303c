"""A duplicate or late packet (retransmission, reordering) must not break the recording: the
recorder drops it, so every stream's timestamps rise strictly and the file plays to the end."""

from __future__ import annotations

import asyncio
import json
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError

from recording.recorder import RoomRecorder

RTP_BASE = {"video": Fraction(1, 90000), "audio": Fraction(1, 48000)}


class FileTrack:
    """The encoded packets of one stream of a real file, paced like a live track, with RTP-like
    timestamps; `disturb` maps a packet index to "duplicate" or "late"."""

    def __init__(self, path: Path, kind: str, disturb: dict[int, str]) -> None:
        self.kind = kind
        self._packets: list[av.Packet[Any]] = []
        with av.open(str(path)) as container:
            stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                copy = av.Packet(bytes(packet))
                assert packet.time_base is not None
                copy.pts = int(packet.pts * packet.time_base / RTP_BASE[kind])
                copy.time_base = RTP_BASE[kind]
                copy.is_keyframe = packet.is_keyframe
                self._packets.append(copy)
        out: list[av.Packet[Any]] = []
        for index, packet in enumerate(self._packets):
            out.append(packet)
            if disturb.get(index) == "duplicate":
                out.append(packet)
            elif disturb.get(index) == "late" and index > 2:
                out.append(self._packets[index - 2])  # an older frame arriving after newer ones
        self._queue = out

    async def recv(self) -> av.Packet[Any]:
        if not self._queue:
            raise MediaStreamError
        await asyncio.sleep(0.002)
        return self._queue.pop(0)

    def request_keyframe(self) -> None:
        pass


def probe_packets(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_packets", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    packets: list[dict[str, Any]] = json.loads(out)["packets"]
    return packets


async def test_duplicate_and_late_packets_are_dropped(sample_webm: Path, tmp_path: Path) -> None:
    recorder = RoomRecorder(tmp_path, name="visit-9")
    await recorder.start()
    disturb = {i: ("duplicate" if i % 7 == 0 else "late") for i in range(5, 200, 11)}
    recorder.add_track("terminal-1", FileTrack(sample_webm, "video", disturb))
    recorder.add_track("terminal-1", FileTrack(sample_webm, "audio", disturb))
    await asyncio.sleep(3.0)
    [result] = await recorder.stop()
    for stream in (0, 1):
        times = [int(p["pts"]) for p in probe_packets(result.path) if p["stream_index"] == stream]
        assert times == sorted(set(times)), f"stream {stream} does not rise strictly"
    decode = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(result.path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert decode.stderr == ""
