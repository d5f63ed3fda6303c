"""The `hall` command as a newcomer and an operator use it: serve, demo logins, user add."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest

from tests import run_logs

HALL = [sys.executable, "-m", "web.cli"]
PG_ADMIN = "postgresql://root@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serving(data_dir: Path, env: dict[str, str]) -> AsyncIterator[tuple[str, list[str]]]:
    """Run `hall serve` until it answers /healthz; yields (base url, printed lines)."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *HALL,
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            assert line, "hall serve exited early:\n" + "".join(lines)
            lines.append(line)
            if line.startswith("接访厅 Jiefang Hall serving"):
                break
        # The demo logins follow the banner; give them a moment to be read.
        await asyncio.sleep(0.3)
        while True:
            try:
                more = await asyncio.wait_for(proc.stdout.readline(), 0.2)
            except TimeoutError:
                break
            if not more:
                break
            lines.append(more.decode())
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
            assert await resp.json() == {"status": "ok"}
        yield base, lines
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
        with run_logs.server_log("cli") as log:  # read by tests/test_run_logs.py
            log.write("".join(lines).encode() + rest)
        assert proc.returncode == 0


async def can_log_in(base: str, username: str, password: str) -> bool:
    # unsafe=True: keep cookies of an IP-address host like 127.0.0.1.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/login") as page:
            html = await page.text()
        token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with http.post(
            f"{base}/login",
            data={"username": username, "password": password, "csrf_token": token},
            allow_redirects=False,
        ) as resp:
            return resp.status == 303


async def test_serve_in_demo_mode_prints_logins_and_restarts_cleanly(tmp_path: Path) -> None:
    async with serving(tmp_path / "var", {}) as (base, lines):
        text = "".join(lines)
        assert "jiefang-demo" in text
        for username in ("village-zhangzhuang", "officer-urban", "desk", "leader", "admin"):
            assert username in text
        assert await can_log_in(base, "officer-urban", "jiefang-demo")
    assert (tmp_path / "var" / "hall.db").is_file()
    # Idempotent: a second start on the same data migrates nothing and duplicates nothing.
    async with serving(tmp_path / "var", {}) as (base, lines):
        assert "".join(lines).count("officer-urban") == 1


async def add_user(data_dir: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *HALL,
        "user",
        "add",
        *args,
        "--data-dir",
        str(data_dir),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_production_mode_seeds_no_accounts_and_user_add_makes_the_first_admin(
    tmp_path: Path,
) -> None:
    env = {"JIEFANG_HALL_DEMO": "0"}
    async with serving(tmp_path / "prod", env) as (base, lines):
        assert "jiefang-demo" not in "".join(lines)
        assert not await can_log_in(base, "admin", "jiefang-demo")
        code, out = await add_user(
            tmp_path / "prod",
            {**env, "JIEFANG_NEW_PASSWORD": "a-strong-password"},
            "chief",
            "--role",
            "admin",
        )
        assert code == 0, out
        assert "created admin chief" in out
        assert await can_log_in(base, "chief", "a-strong-password")
    code, out = await add_user(
        tmp_path / "prod", {**env, "JIEFANG_NEW_PASSWORD": "short"}, "x", "--role", "admin"
    )
    assert code == 2 and "密码至少8位" in out


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database on the local server, dropped afterwards."""
    try:
        admin = await asyncpg.connect(PG_ADMIN)
    except OSError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {exc}")
    name = f"jiefang_test_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://root@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_postgresql_deployment_migrates_and_seeds_no_accounts(
    tmp_path: Path, pg_url: str
) -> None:
    env = {"JIEFANG_HALL_DATABASE_URL": pg_url}
    async with serving(tmp_path / "pg", env) as (base, lines):
        assert "jiefang-demo" not in "".join(lines)
        code, out = await add_user(
            tmp_path / "pg",
            {**env, "JIEFANG_NEW_PASSWORD": "a-strong-password"},
            "officer1",
            "--role",
            "officer",
            "--lines",
            "urban,legal",
        )
        assert code == 0, out
        assert await can_log_in(base, "officer1", "a-strong-password")
    admin = await asyncpg.connect(pg_url.replace("+asyncpg", ""))
    try:
        lines_count = await admin.fetchval("SELECT count(*) FROM lines")
        users_count = await admin.fetchval("SELECT count(*) FROM users")
    finally:
        await admin.close()
    assert (lines_count, users_count) == (7, 1)
