"""RoomRecorder behind the real hub: one playable WebM per participant, checked with ffprobe."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import av

from recording.recorder import ParticipantRecording, RoomRecorder, opus_duration_ms, vp8_frame_size
from signaling.hub import MediaHub, SessionDescription
from tests.media_fixtures import PlayerClient, wait_for


async def join(
    hub: MediaHub, room: str, participant: str, media: Path, *, video: bool = True
) -> PlayerClient:
    client = PlayerClient(media, video=video)
    sdp, type_ = await client.offer()
    answer = await hub.publish(room, participant, SessionDescription(sdp=sdp, type=type_))
    await client.accept(answer.sdp, answer.type)
    return client


def ffprobe(path: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def file_names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def decode_errors(path: Path) -> str:
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stderr.strip() if result.returncode == 0 else f"exit {result.returncode}"


def check_file(recording: ParticipantRecording, *, video: bool = True) -> float:
    """Assert the file is a clean VP8/Opus WebM with increasing timestamps; return its end (s)."""
    path = recording.path
    assert path.suffix == ".webm" and path.exists()
    assert not path.with_name(path.name + ".part").exists()
    info = ffprobe(path, "-show_format", "-show_streams")
    codecs = sorted(stream["codec_name"] for stream in info["streams"])
    assert codecs == (["opus", "vp8"] if video else ["opus"])
    for stream in info["streams"]:
        if stream["codec_name"] == "vp8":
            assert (stream["width"], stream["height"]) == (640, 480)
        else:
            assert stream["channels"] == 2 and stream["sample_rate"] == "48000"
    assert decode_errors(path) == ""
    packets = ffprobe(path, "-show_packets", "-show_entries", "packet=stream_index,pts,flags")
    by_stream: dict[int, list[dict[str, Any]]] = {}
    for packet in packets["packets"]:
        by_stream.setdefault(packet["stream_index"], []).append(packet)
    for stream in info["streams"]:
        items = by_stream[stream["index"]]
        pts = [int(item["pts"]) for item in items]
        assert all(b > a for a, b in zip(pts, pts[1:], strict=False)), f"{path}: pts not increasing"
        if stream["codec_name"] == "vp8":
            assert items[0]["flags"].startswith("K"), f"{path}: video does not start at a keyframe"
    return float(info["format"]["duration"])


async def test_a_recorded_call_gives_one_playable_webm_per_participant(
    sample_webm: Path, tmp_path: Path
) -> None:
    hub = MediaHub()
    recorder = RoomRecorder(tmp_path, name="visit-7")
    hub.attach_sink("visit-7", recorder)
    await recorder.start()
    started = time.monotonic()
    officer = await join(hub, "visit-7", "officer", sample_webm)
    villager = await join(hub, "visit-7", "villager", sample_webm)
    try:
        await wait_for(
            lambda: all(len(c.received["video"]) > 0 for c in (officer, villager)),
            what="the call to connect",
        )
        await asyncio.sleep(5.0)  # the length of the recorded call, not a synchronisation
        recordings = await recorder.stop()
        call_s = time.monotonic() - started
        assert await recorder.stop() == recordings  # idempotent
    finally:
        hub.detach_sink("visit-7", recorder)
        await hub.close()
        await officer.close()
        await villager.close()

    assert sorted(r.participant_id for r in recordings) == ["officer", "villager"]
    assert file_names(tmp_path) == [
        "visit-7-officer.webm",
        "visit-7-villager.webm",
    ]
    for recording in recordings:
        assert recording.has_video and recording.has_audio
        assert recording.video_size == (640, 480)
        assert 0 <= recording.first_timestamp_s < 3.0
        end = check_file(recording)
        assert abs(end - call_s) < 1.0, f"file ends at {end:.2f} s, the call lasted {call_s:.2f} s"
        assert abs(end - recording.last_timestamp_s) < 0.1


async def test_a_participant_who_rejoins_continues_in_the_same_file(
    sample_webm: Path, tmp_path: Path
) -> None:
    hub = MediaHub()
    recorder = RoomRecorder(tmp_path, name="visit-8")
    hub.attach_sink("visit-8", recorder)
    await recorder.start()
    officer = await join(hub, "visit-8", "officer", sample_webm)
    villager = await join(hub, "visit-8", "villager", sample_webm)
    clients = [officer, villager]
    try:
        await wait_for(lambda: len(officer.received["video"]) >= 30, what="villager's video")
        await villager.close()
        await hub.leave("visit-8", "villager")
        rejoined = await join(hub, "visit-8", "villager", sample_webm)
        clients.append(rejoined)
        before = len(officer.received["video"])
        await wait_for(
            lambda: len(officer.received["video"]) >= before + 60, what="villager back on video"
        )
        recordings = await recorder.stop()
    finally:
        await hub.close()
        for client in clients:
            await client.close()

    assert len(recordings) == 2
    villager_file = next(r for r in recordings if r.participant_id == "villager")
    end = check_file(villager_file)
    assert end > 2.5  # both stints are in the one file


async def test_an_audio_only_participant_still_gets_a_valid_file(
    sample_webm: Path, tmp_path: Path
) -> None:
    hub = MediaHub()
    recorder = RoomRecorder(tmp_path, name="visit-9", audio_only_after_s=1.0)
    hub.attach_sink("visit-9", recorder)
    await recorder.start()
    caller = await join(hub, "visit-9", "caller", sample_webm, video=False)
    try:
        await asyncio.sleep(2.5)  # the length of the recorded call
        recordings = await recorder.stop()
    finally:
        await hub.close()
        await caller.close()
    assert [(r.has_video, r.has_audio) for r in recordings] == [(False, True)]
    assert check_file(recordings[0], video=False) > 1.0


async def test_stop_without_media_writes_nothing(tmp_path: Path) -> None:
    recorder = RoomRecorder(tmp_path, name="visit-10")
    await recorder.start()
    assert await recorder.stop() == []
    await recorder.close()
    assert file_names(tmp_path) == []


def test_vp8_and_opus_header_parsing(sample_webm: Path) -> None:
    with av.open(str(sample_webm)) as container:
        video = next(p for p in container.demux(video=0) if p.size)
        assert vp8_frame_size(bytes(video)) == (640, 480)
        audio = next(p for p in container.demux(audio=0) if p.size)
        assert opus_duration_ms(bytes(audio)) == 20.0
    assert vp8_frame_size(b"\x11\x02\x00") is None
