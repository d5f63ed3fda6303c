"""Where recordings live on disk, the one module that knows the file names and folders.

Under the recordings directory, one folder per media room (``<room>/``, e.g. ``visit-7/``):

- each participant's file ``<room>-<participant>.webm``, written as ``….webm.part`` until the
  recorder closes it (a crash leaves the ``.part``; salvage remuxes it through
  ``….webm.salvage`` into the final name);
- the composite ``<room>-composite.webm`` and its thumbnail ``<room>-composite.jpg``;
- ``quarantine/<room>/``: files that cannot be saved, moved there, never deleted.
"""

from __future__ import annotations

import re
from pathlib import Path

PART_SUFFIX = ".part"
SCRATCH_SUFFIX = ".salvage"  # a salvage remux is written here, renamed once verified
VIDEO_SUFFIX = ".webm"
THUMBNAIL_SUFFIX = ".jpg"
QUARANTINE_DIR = "quarantine"  # under the recordings directory, one folder per room


def safe_name(name: str) -> str:
    """``name`` with every character outside ``[A-Za-z0-9_.-]`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def room_folder(directory: Path, room: str) -> Path:
    """The folder of a media room's files: ``<directory>/<room>``."""
    return directory / room


def participant_stem(room: str, participant_id: str) -> str:
    """The file stem of a participant's recording in ``room`` (a safe room name)."""
    return f"{room}-{safe_name(participant_id)}"


def participant_files(folder: Path, stem: str) -> tuple[Path, Path]:
    """A participant file while written (``.webm.part``) and once closed (``.webm``)."""
    final = folder / f"{stem}{VIDEO_SUFFIX}"
    return final.with_name(final.name + PART_SUFFIX), final


def participant_of(path: Path, room: str) -> str:
    """The participant id part of a participant file's name in ``room``."""
    name = path.name.removesuffix(PART_SUFFIX).removesuffix(VIDEO_SUFFIX)
    return name.removeprefix(f"{room}-")


def composite_file(folder: Path, name: str) -> Path:
    """The composite video named ``name`` in ``folder``."""
    return folder / f"{name}{VIDEO_SUFFIX}"


def thumbnail_file(folder: Path, name: str) -> Path:
    """The thumbnail of the composite named ``name`` in ``folder``."""
    return folder / f"{name}{THUMBNAIL_SUFFIX}"


def composite_path(directory: Path, room: str) -> Path:
    """Where a room's composite goes: ``<directory>/<room>/<room>-composite.webm``."""
    return composite_file(room_folder(directory, room), f"{room}-composite")


def is_composite(path: Path) -> bool:
    """Whether ``path`` is its folder's composite (or a leftover of writing it)."""
    return path.name.startswith(f"{path.parent.name}-composite.")


def final_name(part: Path) -> Path:
    """``x.webm.part`` → ``x.webm``: where the finished file goes."""
    return part.with_name(part.name.removesuffix(PART_SUFFIX))


def scratch_name(final: Path) -> Path:
    """Where a salvage remux of ``final`` is written before it is verified."""
    return final.with_name(final.name + SCRATCH_SUFFIX)


def quarantine_folder(directory: Path, part: Path) -> Path:
    """The quarantine folder of ``part``'s room: ``<directory>/quarantine/<room>``."""
    return directory / QUARANTINE_DIR / part.parent.name


def leftover_parts(directory: Path) -> dict[str, list[Path]]:
    """The participant files in the rooms' folders, by room (quarantine not included): the
    ``.webm.part`` a crash left, and the finished ``.webm`` a graceful stop mid-call left.
    Whether a row claims one is for the caller to check; composites and their leftovers are not
    participant files."""
    found: dict[str, list[Path]] = {}
    for pattern in (f"*/*{VIDEO_SUFFIX}{PART_SUFFIX}", f"*/*{VIDEO_SUFFIX}"):
        for part in sorted(directory.glob(pattern)):
            if part.parent.name == QUARANTINE_DIR or is_composite(part):
                continue
            found.setdefault(part.parent.name, []).append(part)
    return found
