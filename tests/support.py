"""Helpers shared by the tests: valid identity numbers, logged-in clients, demo principals."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from hall.accounts import users
from hall.accounts.tables import User
from hall.accounts.users import Principal
from hall.cases.registration import Registration
from hall.db import Database
from hall.demo import DEMO_PASSWORD
from hall.privacy import check_digit
from hall.settings import QueueSettings
from hall.visits import recordings
from web.config import Config

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
QS = QueueSettings()  # the default queue rules
HttpClient = TestClient[web.Request, web.Application]


def valid_id_number(prefix17: str = "11010519491231002") -> str:
    """A GB 11643-valid identity number built from 17 digits."""
    return prefix17 + check_digit(prefix17)


@dataclass
class Client:
    """A test client logged in as one demo account, carrying its CSRF token."""

    http: HttpClient
    csrf: str
    username: str

    async def call(
        self, method: str, path: str, body: object | None = None, *, status: int = 200
    ) -> object:
        """One JSON request with the CSRF token; asserts the status and returns the body."""
        headers = {"X-CSRF-Token": self.csrf, "Accept": "application/json"}
        kwargs: dict[str, object] = {} if body is None else {"json": body}
        resp = await self.http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        data = await resp.json()
        assert resp.status == status, (resp.status, data)
        return data

    async def post(self, path: str, body: object | None = None, *, status: int = 200) -> object:
        return await self.call("POST", path, body, status=status)

    async def put(self, path: str, body: object, *, status: int = 200) -> object:
        return await self.call("PUT", path, body, status=status)

    async def get(self, path: str, *, status: int = 200) -> object:
        return await self.call("GET", path, status=status)

    async def delete(self, path: str, *, status: int = 200) -> object:
        return await self.call("DELETE", path, status=status)


class MovableClock:
    """The hall's clock, set by the test (hall time is UTC+8)."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


async def login(http: HttpClient, username: str, password: str = DEMO_PASSWORD) -> Client:
    """Log `http` in through the real login form (CSRF cookie included)."""
    page = await http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert token is not None
    resp = await http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    me = await http.get("/api/me")
    return Client(http=http, csrf=(await me.json())["csrf_token"], username=username)


@asynccontextmanager
async def api_clients(server: TestServer, *usernames: str) -> AsyncIterator[list[Client]]:
    """HTTP clients of a running test server logged in as `usernames`, for setting up data.
    Only their sessions are closed afterwards: `TestClient.close()` would stop the server."""
    https = [TestClient(server) for _ in usernames]
    try:
        clients = []
        for http, username in zip(https, usernames, strict=True):
            await http.start_server()
            clients.append(await login(http, username))
        yield clients
    finally:
        for http in https:
            await http.session.close()


def registration(**overrides: object) -> dict[str, object]:
    """A valid registration body; override fields to make it invalid."""
    body: dict[str, object] = {
        "name": "张三",
        "id_number": valid_id_number(),
        "phone": "13800138000",
        "village_id": 1,
        "head_count": 1,
        "summary": "宅基地确权纠纷，请求协调",
        "line": "urban",
    }
    body.update(overrides)
    return body


def petition(
    i: int,
    line: str = "urban",
    klass: str = "normal",
    *,
    surname: str = "赵",
    id_stem: str = "33010219800101",
    phone: str = "13600000000",
) -> Registration:
    """The i-th petitioner's domain registration of a matter on `line` (priority: elderly;
    urgent: a reason approved by the leader); `id_stem` keeps a test file's people its own."""
    return Registration(
        name=f"{surname}{i}",
        id_number=valid_id_number(f"{id_stem}{i:03d}"),
        phone=phone,
        village_id=1,
        head_count=1,
        summary=f"事项{i}",
        line_code=line,
        priority_class=klass,
        priority_reason={"priority": "elderly", "urgent": "突发重病需尽快处理"}.get(klass, ""),
        approver="leader" if klass == "urgent" else "",
    )


async def principal(db: Database, username: str) -> Principal:
    """The principal of a demo account, through a real login session."""
    async with db.transaction() as session:
        user = await session.scalar(select(User).where(User.username == username))
        assert user is not None
        token = await users.open_session(session, user, now=T0, lifetime=timedelta(hours=1))
    async with db.reader() as session:
        who = await users.principal_for(session, token, now=T0)
    assert who is not None
    return who


def behind_proxy(config: Config, **throttle: Any) -> Config:
    """`config` behind a trusted proxy, so that a test speaks from any address it names in
    X-Forwarded-For, with `throttle` settings changed (e.g. a short delay cap)."""
    return dataclasses.replace(
        config,
        web=dataclasses.replace(config.web, trust_forwarded_for=True),
        throttle=dataclasses.replace(config.throttle, **throttle),
    )


async def ready_recording(db_url: str, directory: Path, *, case_id: int, visit_id: int) -> int:
    """A ready composite recording of the visit, through the recording rows' own use cases (a
    small file stands for the media): for pages and routes that list or play recordings."""
    media = directory / f"visit-{visit_id}-composite.webm"
    media.parent.mkdir(parents=True, exist_ok=True)
    media.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 64)
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            row = await recordings.add(
                session,
                visit_id=visit_id,
                case_id=case_id,
                kind="composite",
                participant="composite",
                path=str(media),
                now=T0,
            )
            await recordings.mark_ready(
                session,
                row.id,
                path=str(media),
                duration_s=1.0,
                size_bytes=68,
                sha256="0" * 64,
                streams={},
                now=T0,
            )
            return row.id
    finally:
        await db.close()
