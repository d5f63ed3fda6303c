"""Salvage of participant files a crash left as ``.part`` (no cues, no duration, maybe a torn last
cluster): a stream-copy remux into the final name, verified like any post-processed file. A file
that cannot be saved is moved to the quarantine folder, never deleted."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import ffmpeg

from recording import layout
from recording.postprocess import (
    PostprocessError,
    Probe,
    check_decodes,
    ffmpeg_cmd,
    probe,
    run_step,
)
from recording.settings import RecordingSettings

logger = logging.getLogger(__name__)


class SalvageError(Exception):
    """A ``.part`` file cannot be salvaged; ``reason`` says why (empty, no keyframe, unreadable)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise SalvageError(path, "file missing") from None


def _discard(scratch: Path) -> None:
    scratch.unlink(missing_ok=True)


async def _first_video_packet_is_keyframe(path: Path, settings: RecordingSettings) -> bool:
    args = [
        settings.nice,
        "-n",
        str(settings.niceness),
        settings.ffprobe,
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-read_intervals",
        "%+#1",
        "-show_entries",
        "packet=flags",
        "-of",
        "csv=p=0",
        str(path),
    ]
    flags = (await run_step(args, path, "keyframe check")).strip()
    return flags.startswith("K")


async def salvage_part(part: Path, settings: RecordingSettings) -> Probe:
    """Remux ``part`` (stream copy, timestamps kept) into its final name and verify it: probe,
    first video packet a keyframe, full decode and rising timestamps. Returns the final file's
    probe; SalvageError (nothing written) if the file cannot be saved."""
    if _file_size(part) == 0:
        raise SalvageError(part, "empty file (0 bytes)")
    final = layout.final_name(part)
    scratch = layout.scratch_name(final)
    # -copyts keeps the room clock (a participant who joined late starts late in the composite).
    args = (
        ffmpeg.input(str(part), f="matroska")
        .output(str(scratch), f="webm", c="copy", map="0", copyts=None)
        .overwrite_output()
        .compile(cmd=ffmpeg_cmd(settings))
    )
    try:
        await run_step(args, part, "salvage remux")
        probed = await probe(scratch, settings)
        if probed.duration_s <= 0:
            raise SalvageError(part, "no media after the header")
        if probed.has("video") and not await _first_video_packet_is_keyframe(scratch, settings):
            raise SalvageError(part, "no video keyframe")
        await check_decodes(scratch, settings)
    except PostprocessError as exc:
        _discard(scratch)
        raise SalvageError(part, f"unreadable ({exc.step}): {exc.output}") from exc
    except BaseException:
        _discard(scratch)
        raise
    scratch.replace(final)
    logger.info("salvaged %s: %.1f s", final, probed.end_s)
    return dataclasses.replace(probed, path=final, size=_file_size(final))


def remove_part(part: Path) -> None:
    """Delete a ``.part`` whose salvaged copy is verified and recorded (no error if gone)."""
    part.unlink(missing_ok=True)


def quarantine_if_present(part: Path, directory: Path) -> Path | None:
    """quarantine(part) if it is still there; its new path, or None."""
    return quarantine(part, directory) if part.exists() else None


def quarantine(part: Path, directory: Path) -> Path:
    """Move ``part`` to ``<directory>/quarantine/<visit folder>/`` (never overwriting anything);
    returns its new path."""
    folder = layout.quarantine_folder(directory, part)
    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / part.name, 1
    while target.exists():
        n += 1
        target = folder / f"{part.name}.{n}"
    shutil.move(part, target)
    logger.warning("quarantined %s as %s", part, target)
    return target
