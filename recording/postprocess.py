"""Post-processing of a visit's recordings, after the visit, in niced ffmpeg/ffprobe subprocesses.

Owns probing, the full-decode check, the side-by-side composite with mixed audio, the thumbnail and
the typed description (duration, streams, SHA-256, size) of every file.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from recording import layout
from recording.integrity import sha256_file
from recording.settings import RecordingSettings

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 2000


class PostprocessError(Exception):
    """An ffmpeg/ffprobe step failed; the message names the file and quotes what ffmpeg printed."""

    def __init__(self, path: Path, step: str, output: str) -> None:
        self.path = path
        self.step = step
        self.output = output.strip()[-MAX_ERROR_CHARS:]
        super().__init__(f"{step} of {path} failed: {self.output or '(ffmpeg printed nothing)'}")


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream as ffprobe reports it."""

    index: int
    kind: str  # "video" / "audio" / ...
    codec: str
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    """What ffprobe says about a file; times in seconds on the file's own timeline."""

    path: Path
    start_s: float
    duration_s: float
    streams: tuple[StreamInfo, ...]
    size: int

    @property
    def end_s(self) -> float:
        """Where the file ends on its timeline (Matroska durations count from 0, not start)."""
        return max(self.duration_s, self.start_s)

    def has(self, kind: str) -> bool:
        return any(stream.kind == kind for stream in self.streams)


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A verified file: probed, decoded end to end without errors, hashed."""

    path: Path
    duration_s: float
    streams: tuple[StreamInfo, ...]
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class VisitMedia:
    """The result of post-processing one visit.

    ``participants`` describe the participant files even when settings say not to keep them
    (then they are deleted after the composite has been verified).
    """

    participants: tuple[MediaFile, ...]
    composite: MediaFile
    thumbnail: Path
    thumbnail_sha256: str


def ffmpeg_cmd(settings: RecordingSettings) -> list[str]:
    return [
        settings.nice,
        "-n",
        str(settings.niceness),
        settings.ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
    ]


async def run_step(args: Sequence[str], path: Path, step: str) -> str:
    """Run ``args``; its stdout, or PostprocessError with its stderr. Kills it if cancelled."""
    try:
        process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:
        raise PostprocessError(path, step, f"cannot run {args[0]}: {exc}") from exc
    try:
        stdout, stderr = await process.communicate()
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise PostprocessError(path, step, stderr.decode(errors="replace"))
    if stderr.strip() and step == "decode check":
        raise PostprocessError(path, step, stderr.decode(errors="replace"))
    return stdout.decode(errors="replace")


# File metadata calls take microseconds; they stay on the loop (sync helpers keep lint honest
# about everything else).
def _size(path: Path) -> int:
    return path.stat().st_size


def _make_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


async def probe(path: Path, settings: RecordingSettings) -> Probe:
    """ffprobe ``path``: start, duration (seconds) and streams; PostprocessError if unreadable."""
    args = [
        settings.nice,
        "-n",
        str(settings.niceness),
        settings.ffprobe,
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        str(path),
    ]
    output = await run_step(args, path, "ffprobe")
    try:
        report = json.loads(output)
    except json.JSONDecodeError as exc:
        raise PostprocessError(path, "ffprobe", f"unreadable ffprobe output: {exc}") from exc
    streams = tuple(
        StreamInfo(
            index=int(stream.get("index", 0)),
            kind=str(stream.get("codec_type", "")),
            codec=str(stream.get("codec_name", "")),
            width=_int_or_none(stream.get("width")),
            height=_int_or_none(stream.get("height")),
            sample_rate=_int_or_none(stream.get("sample_rate")),
            channels=_int_or_none(stream.get("channels")),
        )
        for stream in report.get("streams", [])
    )
    media = report.get("format", {})
    if not streams:
        raise PostprocessError(path, "ffprobe", "no audio or video stream")
    return Probe(
        path=path,
        start_s=_float(media.get("start_time")),
        duration_s=_float(media.get("duration")),
        streams=streams,
        size=_size(path),
    )


async def check_decodes(path: Path, settings: RecordingSettings) -> None:
    """Decode every stream of ``path`` end to end and check that each stream's packet timestamps
    rise strictly; PostprocessError naming the file and what is wrong.

    The decoded frames are renumbered (one every 100 ms) before ffmpeg's null output: its muxer
    re-times decoded frames itself and may complain about two of them landing on one tick, which
    says nothing about the file. The file's own timestamps are checked from its packets instead.
    """
    args = (
        ffmpeg.input(str(path))
        .output("-", f="null", vf="settb=1/1000,setpts=N*100", af="asetpts=N")
        .compile(cmd=ffmpeg_cmd(settings))
    )
    await run_step(args, path, "decode check")
    await check_timestamps(path, settings)


async def check_timestamps(path: Path, settings: RecordingSettings) -> None:
    """Every stream's packet timestamps must rise strictly (players stop where they do not)."""
    args = [
        settings.nice,
        "-n",
        str(settings.niceness),
        settings.ffprobe,
        "-v",
        "error",
        "-show_entries",
        "packet=stream_index,pts",
        "-of",
        "compact=p=0",
        str(path),
    ]
    last: dict[str, int] = {}
    for line in (await run_step(args, path, "timestamp check")).splitlines():
        fields = dict(item.partition("=")[::2] for item in line.strip().split("|") if item)
        stream, pts = fields.get("stream_index", ""), fields.get("pts", "")
        if not pts or pts == "N/A":
            continue
        value = int(pts)
        if stream in last and value <= last[stream]:
            raise PostprocessError(
                path,
                "timestamp check",
                f"stream {stream}: packet at {value} does not follow {last[stream]}",
            )
        last[stream] = value


async def verify(path: Path, settings: RecordingSettings) -> MediaFile:
    """Probe, decode-check and hash ``path``."""
    probed = await probe(path, settings)
    await check_decodes(path, settings)
    return MediaFile(
        path=path,
        duration_s=probed.end_s,
        streams=probed.streams,
        sha256=await sha256_file(path),
        size=probed.size,
    )


async def make_composite(
    inputs: Sequence[Probe], output: Path, settings: RecordingSettings
) -> Path:
    """Encode ``inputs`` side by side (VP8 + mixed Opus WebM) into ``output``.

    Each input keeps its own timeline (a participant who joined 10 s in appears at 10 s); a tile
    is black while its participant has no video. Written as ``.part``, renamed when complete.
    """
    if not inputs:
        raise PostprocessError(output, "composite", "no participant files")
    width, height, fps = settings.composite_width, settings.composite_height, settings.composite_fps
    duration = max(item.end_s for item in inputs)
    tiles: list[Any] = []
    voices: list[Any] = []
    for item in inputs:
        # -itsoffset = start time cancels ffmpeg's shift of each input to 0: the room clock stays.
        source = ffmpeg.input(str(item.path), itsoffset=f"{item.start_s:.3f}")
        canvas = ffmpeg.input(
            f"color=c=black:s={width}x{height}:r={fps}:d={duration:.3f}", f="lavfi"
        )
        if item.has("video"):
            picture = (
                source.video.filter("scale", width, height, force_original_aspect_ratio="decrease")
                .filter("pad", width, height, "(ow-iw)/2", "(oh-ih)/2")
                .filter("setsar", 1)
            )
            tiles.append(ffmpeg.overlay(canvas, picture, eof_action="pass"))
        else:
            tiles.append(canvas)
        if item.has("audio"):
            # Silence from 0 to the participant's first packet, and over gaps (a rejoin).
            voices.append(source.audio.filter("aresample", 48000, **{"async": 1, "first_pts": 0}))
    video = tiles[0] if len(tiles) == 1 else ffmpeg.filter(tiles, "hstack", inputs=len(tiles))
    streams = [video]
    if voices:
        mixed = (
            voices[0]
            if len(voices) == 1
            else ffmpeg.filter(voices, "amix", inputs=len(voices), duration="longest", normalize=0)
        )
        streams.append(mixed)
    part = output.with_name(output.name + ".part")
    options: dict[str, Any] = {
        "f": "webm",
        "t": f"{duration:.3f}",
        "pix_fmt": "yuv420p",
        "c:v": "libvpx",
        "b:v": settings.composite_video_bitrate,
        "deadline": "realtime",
        "cpu-used": 8,
    }
    if voices:
        options.update({"c:a": "libopus", "b:a": settings.composite_audio_bitrate, "ac": 2})
    args = (
        ffmpeg.output(*streams, str(part), **options)
        .overwrite_output()
        .compile(cmd=ffmpeg_cmd(settings))
    )
    try:
        await run_step(args, output, "composite")
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(output)
    return output


async def make_thumbnail(
    video: Path, output: Path, settings: RecordingSettings, *, at_s: float = 1.0
) -> Path:
    """Write one JPEG frame of ``video`` taken at ``at_s`` seconds to ``output``."""
    part = output.with_name(output.name + ".part")
    args = (
        ffmpeg.input(str(video), ss=f"{max(at_s, 0.0):.3f}")
        .output(str(part), f="image2", vcodec="mjpeg", vframes=1, **{"q:v": 3})
        .overwrite_output()
        .compile(cmd=ffmpeg_cmd(settings))
    )
    try:
        await run_step(args, video, "thumbnail")
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if not part.exists() or part.stat().st_size == 0:
        raise PostprocessError(video, "thumbnail", f"no frame at {at_s:.3f} s")
    part.replace(output)
    return output


async def process_visit(
    participant_files: Sequence[Path],
    output_dir: Path,
    settings: RecordingSettings,
    *,
    name: str,
) -> VisitMedia:
    """Verify each participant file, make ``<name>.webm`` (composite) and ``<name>.jpg``, verify.

    Runs one ffmpeg at a time (niced): it is background work next to live calls.
    """
    _make_dir(output_dir)
    probes: list[Probe] = []
    participants: list[MediaFile] = []
    for path in participant_files:
        probed = await probe(path, settings)
        await check_decodes(path, settings)
        probes.append(probed)
        participants.append(
            MediaFile(
                path=path,
                duration_s=probed.end_s,
                streams=probed.streams,
                sha256=await sha256_file(path),
                size=probed.size,
            )
        )
    composite_path = await make_composite(probes, layout.composite_file(output_dir, name), settings)
    composite = await verify(composite_path, settings)
    first_picture = min((p.start_s for p in probes if p.has("video")), default=0.0)
    thumbnail = await make_thumbnail(
        composite_path,
        layout.thumbnail_file(output_dir, name),
        settings,
        at_s=min(first_picture + 1.0, composite.duration_s / 2),
    )
    if not settings.keep_participant_files:
        for path in participant_files:
            path.unlink(missing_ok=True)
    logger.info(
        "postprocess %s: composite %.1f s, %d bytes", name, composite.duration_s, composite.size
    )
    return VisitMedia(
        participants=tuple(participants),
        composite=composite,
        thumbnail=thumbnail,
        thumbnail_sha256=await sha256_file(thumbnail),
    )
