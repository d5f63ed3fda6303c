"""SQLite under SQLAlchemy's asyncio engine with one thread hop per statement.

aiosqlite runs each sqlite3 call in the connection's own thread and SQLAlchemy's adapter awaits
four of them per statement (open a cursor, execute, fetch, close). Every such hop is a queue put,
a thread wake-up and an event-loop wake-up: 40-70 µs each on this hardware, with a long tail
under load. This adapter does the four in one function in that thread, so a statement costs one
hop; the engine, pool, dialect and everything above are SQLAlchemy's own. It uses aiosqlite's
`Connection._execute` (the queue every aiosqlite call goes through) and the adapter classes of
`sqlalchemy.dialects.sqlite.aiosqlite`; both versions are pinned in pyproject.toml and
tests/hall/test_sqlite_driver.py checks the contract (figures: docs/figures.md).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from threading import Thread
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What a statement left on its cursor, read in the connection's thread."""

    description: Any
    rows: list[Any]
    rowcount: int
    lastrowid: int | None


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    # In the connection's thread: a fresh cursor, the statement, every row, closed again.
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Outcome(cursor.description, rows, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statements each take one trip to the connection's thread."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is opened here (the base class would spend a hop on it).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = deque()
        self._outcome = _Outcome(None, [], -1, None)

    @property
    def description(self) -> Any:
        return self._outcome.description

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount

    @property
    def lastrowid(self) -> int:
        return self._outcome.lastrowid or 0

    @property
    def arraysize(self) -> int:
        return 1  # sqlite3's default: what fetchmany() without a size returns

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        return None  # rows are already buffered

    def nextset(self) -> None:
        return None  # one statement, one result set

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None  # sqlite3 ignores input sizes as well

    async def _async_soft_close(self) -> None:
        return None  # nothing is open between statements

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._run(operation, () if parameters is None else parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        return await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> Any:
        async with self._adapt_connection._execute_mutex:
            connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            self._outcome = await connection._execute(  # type: ignore[no-untyped-call]
                _run, connection, operation, parameters, many
            )
            self._rows = deque(self._outcome.rows)
        return self


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter, handing out `OneHopCursor`s."""

    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment]


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The adapted DBAPI module to pass as `create_async_engine(..., module=...)`."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        creator = kw.pop("async_creator_fn", None)  # create_async_engine(async_creator=...)
        connection = creator(*arg, **kw) if creator else aiosqlite.connect(*arg, **kw)
        thread: Thread | None = getattr(connection, "_thread", None)
        if thread is not None:
            thread.daemon = True  # as SQLAlchemy does: never keep the process alive at exit
        adapted: Any = await_(connection)
        return OneHopConnection(self, adapted)
