"""Upgrading a database that already holds a day of work keeps every row (SQLite rebuilds
tables in batch mode, which must not trip over the foreign keys that point at them)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from alembic import command

from hall.db import alembic_config, migrate


def _fill_0001(path: Path) -> None:
    con = sqlite3.connect(path)
    # @T: one timestamp for every row (the script is a literal; nothing is interpolated).
    con.executescript(
        """
        INSERT INTO lines (id, code, name, letter, sort) VALUES (1, 'urban', '城建', 'C', 0);
        INSERT INTO users (id, username, display_name, password_hash, role, active, created_at)
            VALUES (1, 'officer', '接访员', 'x', 'officer', 1, @T);
        INSERT INTO petitioners (id, name, id_number, phone, created_at)
            VALUES (1, '张三', '11010519491231002X', '13800138000', @T);
        INSERT INTO cases (id, number, query_code, line_id, petitioner_id, state, summary,
            head_count, channel, proxy, created_at)
            VALUES (1, 'JF1', 'ABC234', 1, 1, 'registered', '事项', 1, 'walk_in', 0, @T);
        INSERT INTO tickets (id, line_id, day, seq, number, channel, state, case_id,
            petitioner_id, head_count, effective_start, created_at)
            VALUES (1, 1, '2026-11-02', 1, 'C001', 'walk_in', 'serving', 1, 1, 1, @T, @T),
                   (2, 1, '2026-11-02', 2, 'C002', 'walk_in', 'waiting', 1, 1, 1, @T, @T);
        INSERT INTO ticket_events (id, ticket_id, kind, at, data)
            VALUES (1, 1, 'joined', @T, '{}'), (2, 2, 'joined', @T, '{}');
        INSERT INTO visits (id, ticket_id, case_id, officer_id, state, started_at, notes)
            VALUES (1, 1, 1, 1, 'live', @T, '');
        """.replace("@T", "'2026-11-02 01:00:00.000000'")
    )
    con.commit()
    con.close()


async def test_upgrade_from_the_first_schema_keeps_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0001")
    _fill_0001(path)
    await migrate(url)
    con = sqlite3.connect(path)
    try:
        tickets = con.execute("SELECT number, state, rank_at IS NOT NULL FROM tickets").fetchall()
        events = con.execute("SELECT ticket_id, line_id FROM ticket_events ORDER BY id").fetchall()
        visits = con.execute("SELECT ticket_id, state FROM visits").fetchall()
        violations = con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()
    assert tickets == [("C001", "serving", 1), ("C002", "waiting", 1)]
    assert events == [(1, 1), (2, 1)]
    assert visits == [(1, "live")]
    assert violations == []
