"""A real migrated SQLite database with the demo data, copied from the session's seed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hall.db import Database
from tests.conftest import copy_seeded


@pytest.fixture
async def db(tmp_path: Path, seeded_db: Path) -> AsyncIterator[Database]:
    path = copy_seeded(seeded_db, tmp_path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.close()
