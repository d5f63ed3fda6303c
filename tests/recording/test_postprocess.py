"""Post-processing with the real ffmpeg: composite, thumbnail, probes, hashes, typed errors."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from recording.integrity import sha256_file
from recording.postprocess import PostprocessError, check_decodes, probe, process_visit
from recording.settings import RecordingSettings
from tests.media_fixtures import make_sample_webm


def shift(source: Path, target: Path, seconds: float) -> Path:
    """Copy ``source`` with every timestamp moved ``seconds`` later (a participant joining late)."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(source), "-c", "copy"]
        + ["-output_ts_offset", str(seconds), str(target)],
        check=True,
    )
    return target


@pytest.fixture(scope="module")
def participant_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("visit")
    officer = make_sample_webm(directory / "officer.webm", seconds=4.0)
    late = make_sample_webm(directory / "late.webm", seconds=3.0, tone_hz=660)
    villager = shift(late, directory / "villager.webm", 2.0)  # joined 2 s in, until 5 s
    late.unlink()
    return officer, villager


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_visit_gets_a_verified_side_by_side_composite_and_thumbnail(
    participant_files: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = RecordingSettings(directory=tmp_path)
    media = await process_visit(participant_files, tmp_path, settings, name="visit-11")

    composite = media.composite
    assert composite.path == tmp_path / "visit-11.webm"
    assert not (tmp_path / "visit-11.webm.part").exists()
    kinds = sorted((s.kind, s.codec) for s in composite.streams)
    assert kinds == [("audio", "opus"), ("video", "vp8")]
    video = next(s for s in composite.streams if s.kind == "video")
    assert (video.width, video.height) == (2 * 640, 480)
    longest = max(p.duration_s for p in media.participants)
    assert longest == pytest.approx(5.0, abs=0.1)  # the villager ends at 2 s + 3 s
    assert abs(composite.duration_s - longest) < 1.0
    assert composite.sha256 == sha256(composite.path)
    assert composite.size == composite.path.stat().st_size
    await check_decodes(composite.path, settings)

    for participant, path in zip(media.participants, participant_files, strict=True):
        assert participant.path == path and participant.sha256 == sha256(path)
    assert media.thumbnail.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    assert media.thumbnail_sha256 == await sha256_file(media.thumbnail)


async def test_a_late_participant_is_black_until_they_join(
    participant_files: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = RecordingSettings(directory=tmp_path, composite_width=160, composite_height=120)
    media = await process_visit(participant_files, tmp_path, settings, name="visit-12")
    early = frame_brightness(media.composite.path, at_s=1.0)
    later = frame_brightness(media.composite.path, at_s=3.0)
    assert early[0] > 40 and early[1] < 5  # villager's tile is black before 2 s
    assert later[0] > 40 and later[1] > 40


def frame_brightness(video: Path, *, at_s: float) -> tuple[float, float]:
    """Mean luma of the left and right halves of the frame at ``at_s``."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-ss", str(at_s), "-i", str(video)]
        + ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        check=True,
    )
    width = 2 * 160
    rows = [result.stdout[i : i + width] for i in range(0, len(result.stdout), width)]
    left = [value for row in rows for value in row[: width // 2]]
    right = [value for row in rows for value in row[width // 2 :]]
    return sum(left) / len(left), sum(right) / len(right)


async def test_a_corrupt_file_is_a_typed_error_naming_it(
    participant_files: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = RecordingSettings(directory=tmp_path)
    corrupt = tmp_path / "corrupt.webm"
    corrupt.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 64)
    with pytest.raises(PostprocessError) as caught:
        await process_visit([participant_files[0], corrupt], tmp_path, settings, name="visit-13")
    assert caught.value.path == corrupt
    assert str(corrupt) in str(caught.value)
    assert caught.value.output  # what ffmpeg printed
    assert not (tmp_path / "visit-13.webm").exists()


@pytest.mark.parametrize("damage", ["zeroed", "truncated"])
async def test_damage_inside_a_file_fails_the_decode_check(
    participant_files: tuple[Path, Path], tmp_path: Path, damage: str
) -> None:
    settings = RecordingSettings(directory=tmp_path)
    damaged = tmp_path / f"{damage}.webm"
    data = bytearray(participant_files[0].read_bytes())
    third = len(data) // 3
    if damage == "zeroed":
        data[third : third + 20000] = bytes(20000)  # a lost disk block in the middle
    else:
        del data[len(data) // 2 :]  # the writer died mid-file
    damaged.write_bytes(bytes(data))
    assert (await probe(damaged, settings)).has("video")  # the container still opens
    with pytest.raises(PostprocessError) as caught:
        await check_decodes(damaged, settings)
    assert caught.value.step == "decode check" and str(damaged) in str(caught.value)
    assert "matroska" in caught.value.output
