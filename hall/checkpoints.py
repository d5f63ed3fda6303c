"""Background WAL checkpoints for the SQLite file (embedded mode).

SQLite's own rule is that the commit which finds more than `wal_autocheckpoint` pages in the
WAL copies them into the database file and fsyncs it, so that one request waits tens of
milliseconds (docs/figures.md). Here a task copies the WAL every `interval_s` on its own
connection with a PASSIVE checkpoint (never waits for, nor blocks, readers and writers); the
connections' threshold is raised to a safety net that only a stalled task would reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

SAFETY_NET_PAGES = 4000  # ≈ 16 MB of WAL: far above what one interval writes in a hall
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes a reset WAL file is truncated back to


def sqlite_path(url: str) -> Path | None:
    """The database file an SQLite URL opens (as SQLAlchemy reads it), or None for another
    database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database or ""
    if name.startswith("file:"):  # an SQLite URI filename (`?uri=true`)
        name, _, options = name[len("file:") :].partition("?")
        if "mode=memory" in options or name == ":memory:":
            return None
    if name in ("", ":memory:"):
        return None
    return Path(name)


def _checkpoint(path: Path) -> tuple[int, int, int]:
    # mode=rw: never create a database file that is not there.
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as connection:
        busy, wal_pages, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(wal_pages), int(copied)


class WalCheckpointer:
    """Runs a PASSIVE checkpoint of `path` every `interval_s` seconds until `close()`."""

    def __init__(self, path: Path, interval_s: float) -> None:
        self.path = path
        self.interval_s = interval_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the task; idempotent. Needs a running loop."""
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval_s)
                return
            try:
                # Not cancelled midway: close() waits for a running checkpoint to finish.
                busy, wal_pages, copied = await asyncio.to_thread(_checkpoint, self.path)
            except Exception:  # the next round tries again; nothing here may end the task
                log.exception("WAL checkpoint of %s failed", self.path)
                continue
            if wal_pages - copied > SAFETY_NET_PAGES // 2:
                log.warning(
                    "WAL of %s: %d of %d pages not checkpointed (readers hold them; busy=%d)",
                    self.path,
                    wal_pages - copied,
                    wal_pages,
                    busy,
                )

    async def close(self) -> None:
        """Stop after the checkpoint in progress, if any; idempotent."""
        if self._task is None:
            return
        self._stop.set()
        task, self._task = self._task, None
        try:
            await task
        except Exception:
            log.exception("WAL checkpoint task of %s ended with an error", self.path)
