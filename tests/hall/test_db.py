"""The database wrapper: background WAL checkpoints on SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from hall.checkpoints import WalCheckpointer, sqlite_path
from hall.db import Database
from hall.settings import HallSettings
from tests.conftest import copy_seeded


async def _write_pages(db: Database, rows: int) -> None:
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, v)"))
        for n in range(rows):
            await session.execute(text("INSERT INTO filler (v) VALUES (:v)"), {"v": f"{n}" * 400})


async def _wait_for_size(path: Path, minimum: int, *, timeout_s: float = 10.0) -> int:
    size = path.stat().st_size
    for _ in range(int(timeout_s / 0.05)):
        size = path.stat().st_size
        if size >= minimum:
            break
        await asyncio.sleep(0.05)
    return size


async def test_background_checkpoints_copy_the_wal_into_the_database(
    tmp_path: Path, seeded_db: Path
) -> None:
    """With checkpoints in the background, commits leave the WAL to grow (SQLite's own threshold
    is only a safety net) and the checkpoint task copies it into the database file."""
    path = copy_seeded(seeded_db, tmp_path)
    db = Database(f"sqlite+aiosqlite:///{path}", checkpoint_s=0.05)
    db.start()
    db.start()  # idempotent
    try:
        before = path.stat().st_size
        await _write_pages(db, 3000)  # ≈ 3 MB, several times SQLite's 1000-page threshold
        size = await _wait_for_size(path, before + 2_000_000)
        assert size >= before + 2_000_000, (before, size)
    finally:
        await db.close()
        await db.close()  # idempotent


async def test_without_background_checkpoints_the_database_file_waits_for_sqlite(
    tmp_path: Path, seeded_db: Path
) -> None:
    """The control: with the safety-net threshold and no task, nothing copies the WAL, so the
    growth above really is the task's work."""
    path = copy_seeded(seeded_db, tmp_path)
    db = Database(f"sqlite+aiosqlite:///{path}", checkpoint_s=0.05)  # never started
    try:
        before = path.stat().st_size
        await _write_pages(db, 3000)
        await asyncio.sleep(0.3)
        assert path.stat().st_size < before + 1_000_000
        assert path.with_name(path.name + "-wal").stat().st_size > 2_000_000
    finally:
        await db.close()


async def test_checkpoints_are_an_sqlite_matter(tmp_path: Path) -> None:
    db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none", checkpoint_s=1.0)
    db.start()  # nothing to start: PostgreSQL checkpoints by itself
    await db.close()


def test_only_an_sqlite_file_has_a_path_to_checkpoint() -> None:
    assert sqlite_path("sqlite+aiosqlite:////srv/hall/hall.db") == Path("/srv/hall/hall.db")
    assert sqlite_path("sqlite+aiosqlite:///var/hall.db?timeout=5") == Path("var/hall.db")
    assert sqlite_path("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_path("sqlite+aiosqlite://") is None
    assert sqlite_path("sqlite+aiosqlite:///file::memory:?cache=shared&uri=true") is None
    assert sqlite_path("postgresql+asyncpg://hall@db/hall") is None
    # As SQLAlchemy reads the URL: percent-escapes decoded, an SQLite URI filename unwrapped.
    assert sqlite_path("sqlite+aiosqlite:////srv/my%20hall/hall.db") == Path("/srv/my hall/hall.db")
    assert sqlite_path("sqlite+aiosqlite:///file:var/hall.db?uri=true") == Path("var/hall.db")


async def test_the_checkpointer_never_creates_a_database_and_survives_errors(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "gone.db"
    checkpointer = WalCheckpointer(missing, 0.02)
    checkpointer.start()
    await asyncio.sleep(0.2)  # several failed rounds: logged, the task goes on
    assert checkpointer._task is not None and not checkpointer._task.done()
    await checkpointer.close()
    await checkpointer.close()
    assert not missing.exists()


@pytest.mark.parametrize("value", [-1.0, 0.01, float("inf"), float("nan"), 7200.0])
def test_a_checkpoint_interval_out_of_range_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match="wal_checkpoint_s"):
        HallSettings(wal_checkpoint_s=value)


def test_checkpoints_can_be_left_to_sqlite() -> None:
    assert HallSettings(wal_checkpoint_s=0).wal_checkpoint_s == 0
