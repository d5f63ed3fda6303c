"""Database engine, sessions and migrations: SQLite in WAL mode with foreign keys, or PostgreSQL."""

from __future__ import annotations

import asyncio
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

from hall import schema  # noqa: F401  (every table in the metadata before the first query)
from hall.checkpoints import JOURNAL_SIZE_LIMIT, SAFETY_NET_PAGES, WalCheckpointer, sqlite_path
from hall.sqlite_driver import OneHopDBAPI

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


AUTOCHECKPOINT_PAGES = 1000  # SQLite's default threshold, used without background checkpoints


def _sqlite_pragmas(autocheckpoint: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
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
        path = sqlite_path(url)
        self._checkpoints = (
            WalCheckpointer(path, checkpoint_s) if path is not None and checkpoint_s > 0 else None
        )
        self.engine = create_engine(
            url, autocheckpoint=SAFETY_NET_PAGES if self._checkpoints else AUTOCHECKPOINT_PAGES
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def start(self) -> None:
        """Start the background checkpoints (if configured); idempotent. Needs a running loop."""
        if self._checkpoints is not None:
            self._checkpoints.start()

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
            await self._checkpoints.close()
        await self.engine.dispose()
