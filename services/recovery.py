"""Start-up recovery of recordings (STYLE rule 8): participant files a crash left as ``.part`` get
recording rows, are salvaged or quarantined, and every unfinished recording goes back to
post-processing. Each step is idempotent: a second restart finds nothing left to do.

`recording` finds, salvages and moves the files (`recording.layout`, `recording.salvage`); the
rows are written here, through `hall.visits.recordings`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from hall.db import Database
from hall.ports import Clock
from hall.visits import recordings, visits
from hall.visits.tables import Recording, Visit, VisitState
from recording import layout, salvage
from recording.settings import RecordingSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A visit whose recordings still need post-processing: (row id, file) per participant."""

    visit_id: int
    participants: tuple[tuple[int, Path], ...]
    composite_id: int
    composite_path: Path


def _claimed(part: Path, rows: list[Recording]) -> bool:
    paths = {Path(row.path) for row in rows}
    return part in paths or layout.final_name(part) in paths


async def adopt_leftovers(session: AsyncSession, directory: Path, *, now: datetime) -> list[Path]:
    """Give every participant file (``.part`` after a crash, ``.webm`` after a graceful stop) of
    an interrupted visit that no row claims a participant row (``processing``, salvaged), plus a
    composite row if the visit has none; quarantine the unclaimed files of unknown or normally
    ended visits. Returns the adopted files.

    Runs in the start-up transaction, after live visits were marked interrupted; it only lists
    folders and renames files, so start-up is not held up.
    """
    adopted: list[Path] = []
    for room, parts in layout.leftover_parts(directory).items():
        visit_id = visits.visit_id_of_room(room)
        if visit_id is None:
            continue
        rows = await recordings.for_visit(session, visit_id)
        unclaimed = [part for part in parts if not _claimed(part, rows)]
        if not unclaimed:
            continue
        visit = await session.get(Visit, visit_id)
        if visit is None or visit.state != VisitState.INTERRUPTED:
            for part in unclaimed:
                salvage.quarantine(part, directory)
            continue
        for part in unclaimed:
            await recordings.add(
                session,
                visit_id=visit_id,
                case_id=visit.case_id,
                kind="participant",
                participant=layout.participant_of(part, room),
                path=str(part),
                now=now,
                salvaged=True,
            )
        if not any(row.kind == "composite" for row in rows):
            await recordings.add(
                session,
                visit_id=visit_id,
                case_id=visit.case_id,
                kind="composite",
                participant="",
                path=str(layout.composite_path(directory, room)),
                now=now,
                salvaged=True,
            )
        adopted.extend(unclaimed)
        logger.warning("[visit %s] %d recording(s) cut short by a crash", visit_id, len(unclaimed))
    return adopted


async def _salvage_row(
    db: Database, settings: RecordingSettings, clock: Clock, row: Recording
) -> Path | None:
    """Salvage one participant row's ``.part``; its final file, or None once quarantined."""
    part = Path(row.path)
    try:
        saved = await salvage.salvage_part(part, settings)
    except salvage.SalvageError as exc:
        error = str(exc)
        moved = salvage.quarantine_if_present(part, settings.directory)
        if moved is not None:
            error += f"; moved to {moved}"
        logger.error("[visit %s] recording cannot be salvaged: %s", row.visit_id, error)
        async with db.transaction() as session:
            await recordings.mark_quarantined(session, row.id, error=error, now=clock.now())
        return None
    async with db.transaction() as session:
        await recordings.mark_salvaged(
            session, row.id, path=str(saved.path), duration_s=saved.end_s, now=clock.now()
        )
    # Only now: a crash before the commit salvages the same .part again at the next start.
    salvage.remove_part(part)
    return saved.path


async def salvage_unfinished(
    db: Database, settings: RecordingSettings, clock: Clock
) -> list[Unfinished]:
    """Salvage (or quarantine) the ``.part`` files of unfinished recordings and return every visit
    whose recordings still need post-processing (also those a crash interrupted mid-job)."""
    async with db.reader() as session:
        rows = await recordings.unfinished(session)
    by_visit: dict[int, list[Recording]] = {}
    for row in rows:
        by_visit.setdefault(row.visit_id, []).append(row)
    result: list[Unfinished] = []
    for visit_id, group in by_visit.items():
        composite = next((row for row in group if row.kind == "composite"), None)
        participants: list[tuple[int, Path]] = []
        for row in group:
            if row.kind == "composite":
                continue
            if row.path.endswith(layout.PART_SUFFIX):
                saved = await _salvage_row(db, settings, clock, row)
                if saved is not None:
                    participants.append((row.id, saved))
            else:
                if row.salvaged:  # salvaged, committed, then a crash before .part was removed
                    salvage.remove_part(Path(row.path + layout.PART_SUFFIX))
                participants.append((row.id, Path(row.path)))
        if composite is None:
            logger.error("[visit %s] unfinished recordings without a composite row", visit_id)
            continue
        if not participants:
            async with db.transaction() as session:
                await recordings.mark_failed(
                    session, composite.id, error="no participant file could be salvaged"
                )
            continue
        result.append(Unfinished(visit_id, tuple(participants), composite.id, Path(composite.path)))
    return result
