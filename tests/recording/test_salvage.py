"""Salvage of the ``.part`` a crash leaves: the real recorder's file, copied mid-write, becomes a
playable WebM holding all but about a second of what was recorded; garbage goes to quarantine."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from recording.recorder import RoomRecorder
from recording.salvage import SalvageError, quarantine, salvage_part
from recording.settings import RecordingSettings
from signaling.hub import MediaHub
from tests.media_fixtures import make_sample_webm, wait_for
from tests.recording.test_recorder import decode_errors, ffprobe, file_names, join

CALL_SECONDS = 4.0


@pytest.fixture(scope="module")
def rare_keyframes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like a browser's stream: one keyframe at the start and none for the next 10 s, so only
    the recorder's cluster limit (not keyframes) decides when data reaches the disk."""
    path = tmp_path_factory.mktemp("media") / "rare-keyframes.webm"
    return make_sample_webm(path, seconds=10.0, keyframe_every_s=10.0)


async def test_a_part_copied_mid_write_is_salvaged_into_a_playable_file(
    rare_keyframes: Path, tmp_path: Path
) -> None:
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    hub = MediaHub()
    recorder = RoomRecorder(live, name="visit-21")
    hub.attach_sink("visit-21", recorder)
    await recorder.start()
    started = time.monotonic()
    officer = await join(hub, "visit-21", "officer", rare_keyframes)
    part = live / "visit-21-officer.webm.part"
    try:
        await wait_for(part.exists, what="the recorder to open the file")
        await asyncio.sleep(CALL_SECONDS)  # the length of the call before the "crash"
        # What a SIGKILL leaves on disk: the .part as it is at this instant, mid-write.
        crashed.mkdir()
        shutil.copyfile(part, crashed / part.name)
        recorded_s = time.monotonic() - started
    finally:
        hub.detach_sink("visit-21", recorder)
        await hub.close()
        await officer.close()
        await recorder.stop()

    settings = RecordingSettings(directory=tmp_path)
    salvaged = await salvage_part(crashed / part.name, settings)

    assert salvaged.path == crashed / "visit-21-officer.webm"
    assert file_names(crashed) == ["visit-21-officer.webm", "visit-21-officer.webm.part"]
    # The loss is bounded by the recorder's 1 s clusters: within ~2 s of what was written.
    assert recorded_s - 2.0 <= salvaged.end_s <= recorded_s + 0.2, (salvaged.end_s, recorded_s)
    assert sorted(s.codec for s in salvaged.streams) == ["opus", "vp8"]
    info = ffprobe(salvaged.path, "-show_format")
    assert float(info["format"]["duration"]) == pytest.approx(salvaged.duration_s)
    assert decode_errors(salvaged.path) == ""
    # Cues were written: the remux is a finished file, seekable by players.
    assert b"\x1c\x53\xbb\x6b" in salvaged.path.read_bytes()  # Matroska Cues element id


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file (0 bytes)"),
        (b"not a webm " * 500, "unreadable (salvage remux)"),
        (None, "unreadable (salvage remux)"),  # the header only, torn before any cluster
    ],
)
async def test_a_part_that_cannot_be_salvaged_is_refused_and_quarantined(
    sample_webm: Path, tmp_path: Path, content: bytes | None, reason: str
) -> None:
    visit = tmp_path / "visit-5"
    visit.mkdir()
    part = visit / "visit-5-officer-3.webm.part"
    original = sample_webm.read_bytes()[:300] if content is None else content
    part.write_bytes(original)

    with pytest.raises(SalvageError) as refused:
        await salvage_part(part, RecordingSettings(directory=tmp_path))

    assert refused.value.path == part
    assert refused.value.reason.startswith(reason)
    assert str(part) in str(refused.value)
    assert file_names(visit) == [part.name]  # nothing half-written is left behind
    moved = quarantine(part, tmp_path)
    assert moved == tmp_path / "quarantine" / "visit-5" / part.name
    assert moved.read_bytes() == original  # moved as it was, never deleted
    assert file_names(visit) == []
    # A second file of the same name never overwrites the first one.
    part.write_bytes(b"again")
    assert quarantine(part, tmp_path).name == f"{part.name}.2"
