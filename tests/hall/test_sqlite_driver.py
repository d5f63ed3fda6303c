"""The one-hop SQLite adapter behaves as a DBAPI cursor wherever SQLAlchemy looks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.metadata import version
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from hall.db import create_engine
from hall.sqlite_driver import OneHopConnection

meta = MetaData()
items = Table(
    "items",
    meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True, nullable=False),
    Column("n", Integer, default=0),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(meta.create_all)
    yield engine
    await engine.dispose()


def test_the_adapter_is_checked_against_the_pinned_libraries() -> None:
    """It relies on aiosqlite's `Connection._execute` and SQLAlchemy's aiosqlite adapter classes:
    a version bump must come with a look at `hall/sqlite_driver.py` (then update these pins)."""
    assert version("aiosqlite") == "0.22.1"
    assert version("sqlalchemy") == "2.1.9"


async def test_engine_connections_use_the_adapter(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)


async def test_insert_update_returning_and_select(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        first = await connection.execute(insert(items).values(name="a", n=1))
        assert first.inserted_primary_key == (1,)  # from the cursor's lastrowid
        many = await connection.execute(
            insert(items), [{"name": "b", "n": 2}, {"name": "c", "n": 0}]
        )
        assert many.rowcount == 2
        changed = await connection.execute(update(items).where(items.c.n < 2).values(n=9))
        assert changed.rowcount == 2
        returned = await connection.execute(
            update(items).where(items.c.name == "b").values(n=5).returning(items.c.id, items.c.n)
        )
        assert returned.all() == [(2, 5)]
        rows = await connection.execute(select(items.c.name, items.c.n).order_by(items.c.id))
        assert rows.keys() == ["name", "n"]
        assert rows.fetchmany(2) == [("a", 9), ("b", 5)]
        assert rows.fetchall() == [("c", 9)]
        empty = await connection.execute(select(items).where(items.c.id > 100))
        assert empty.all() == []


async def test_errors_map_to_sqlalchemy_and_the_connection_survives(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(items).values(name="a"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(items).values(name="a"))
    with pytest.raises(OperationalError):
        async with engine.connect() as connection:
            await connection.execute(text("SELECT * FROM no_such_table"))
    async with engine.connect() as connection:
        assert (await connection.execute(select(items.c.name))).scalars().all() == ["a"]


async def test_a_rolled_back_transaction_leaves_nothing(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(insert(items).values(name="x"))
        await connection.rollback()
    async with engine.connect() as connection:
        assert (await connection.execute(select(items))).all() == []
