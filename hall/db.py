"""Database engine, sessions and migrations: SQLite in WAL mode with foreign keys, or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hall.sqlite_driver import OneHopDBAPI

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


# SQLite's own rule: a commit that finds the WAL over 1000 pages checkpoints it on the spot, so
# that commit waits for the copy and the fsync (tens of ms). With background checkpoints the
# threshold is only a safety net far above what one interval writes.
AUTOCHECKPOINT_PAGES = 1000
SAFETY_NET_PAGES = 20000  # ≈ 80 MB of WAL


def _sqlite_pragmas(autocheckpoint: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        cursor.close()

    return on_connect


def create_engine(url: str, *, autocheckpoint: int = AUTOCHECKPOINT_PAGES) -> AsyncEngine:
    """An async engine for `url`; SQLite connections get WAL, foreign keys, a busy timeout and
    `autocheckpoint` as their WAL checkpoint threshold (pages)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, module=OneHopDBAPI(), connect_args={"timeout": 5})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(autocheckpoint))
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL, or None for another database or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    name = url.split("///", 1)[1] if "///" in url else ""
    if name in ("", ":memory:") or name.startswith("file::memory:"):
        return None
    return Path(name.split("?", 1)[0])


def _checkpoint(path: Path) -> None:
    # PASSIVE: copies what it can without waiting for (or blocking) readers and writers.
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as connection:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def alembic_config(url: str) -> AlembicConfig:
    """Alembic configuration pointing at the packaged migrations."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade(url: str) -> None:
    # "heads": independent revisions written side by side apply together until a merge
    # revision joins them.
    command.upgrade(alembic_config(url), "heads")


async def migrate(url: str) -> None:
    """Apply every pending migration; runs Alembic (which runs its own loop) in a thread."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(_upgrade, url)


class Database:
    """Owns the engine and hands out one session (one transaction) per use case."""

    def __init__(self, url: str, *, checkpoint_s: float = 0.0) -> None:
        """`checkpoint_s` > 0 (SQLite only): after `start()`, WAL checkpoints run in the
        background every `checkpoint_s` seconds instead of inside the commit that crosses
        SQLite's threshold, which keeps their I/O out of request latency."""
        self.url = url
        self._path = sqlite_path(url)
        self._checkpoint_s = checkpoint_s if self._path is not None else 0.0
        self.engine = create_engine(
            url, autocheckpoint=SAFETY_NET_PAGES if self._checkpoint_s else AUTOCHECKPOINT_PAGES
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._checkpoints: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background checkpoints (if configured); idempotent. Needs a running loop."""
        if self._path is not None and self._checkpoint_s and self._checkpoints is None:
            loop = asyncio.get_running_loop()
            self._checkpoints = loop.create_task(self._checkpoint_loop(self._path))

    async def _checkpoint_loop(self, path: Path) -> None:
        while True:
            await asyncio.sleep(self._checkpoint_s)
            try:
                await asyncio.to_thread(_checkpoint, path)
            except sqlite3.Error as exc:  # busy or locked: the next round catches up
                log.warning("WAL checkpoint of %s skipped: %s", path, exc)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only."""
        async with self._sessions() as session:
            yield session

    async def close(self) -> None:
        """Stop the checkpoints, dispose the engine's pool; idempotent."""
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        await self.engine.dispose()
