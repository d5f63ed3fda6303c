"""Shared fixtures: a real app on a real SQLite file in a temp dir, and logged-in clients."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hall import demo
from hall.db import Database, migrate
from tests import run_logs
from tests.support import T0, Client, HttpClient, login
from web.app import create_app
from web.config import Config

# The run's log check reads what every other test logged and stored, so it goes last.
LAST = "tests/test_run_logs.py::test_no_personal_data_in_the_run_logs"


def pytest_configure(config: pytest.Config) -> None:
    run_logs.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A failed run keeps its logs for reading; a passing one leaves nothing behind.
    where = run_logs.folder()
    if exitstatus == 0 and where is not None:
        shutil.rmtree(where, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid == LAST)


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file with reference and demo data (argon2 hashing is slow on
    purpose, so the accounts are made once and the file is copied for each test)."""
    path = tmp_path_factory.mktemp("seed") / "hall.db"

    async def build() -> None:
        url = f"sqlite+aiosqlite:///{path}"
        await migrate(url)
        db = Database(url)
        async with db.transaction() as session:
            await demo.ensure_reference_data(session)
            await demo.seed_demo(session, now=T0)
        await db.close()

    asyncio.run(build())
    return path


def copy_seeded(seeded: Path, data_dir: Path) -> Path:
    """A private copy of the seeded database in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(seeded, data_dir / "hall.db")
    return data_dir / "hall.db"


@pytest.fixture
async def db(tmp_path: Path, seeded_db: Path) -> AsyncIterator[Database]:
    """A real migrated SQLite database with the demo data, copied from the session's seed."""
    path = copy_seeded(seeded_db, tmp_path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.close()


@pytest.fixture
def config(tmp_path: Path, seeded_db: Path) -> Config:
    copy_seeded(seeded_db, tmp_path / "data")
    return Config.for_data_dir(tmp_path / "data")


@pytest.fixture
async def server(config: Config) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(config))
    await srv.start_server()
    yield srv
    await srv.close()


ClientFactory = Callable[[str], Awaitable[Client]]


@pytest.fixture
async def client_as(server: TestServer) -> AsyncIterator[ClientFactory]:
    """Log in a fresh client as a demo username (each with its own cookie jar)."""
    opened: list[HttpClient] = []

    async def make(username: str) -> Client:
        http = TestClient(server)
        await http.start_server()
        opened.append(http)
        return await login(http, username)

    yield make
    for http in opened:
        await http.close()
