"""Case transitions over HTTP, the public progress query (no personal data, throttled) and
`hall verify-chain` on a real data folder."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hall.cases.tables import Case, Visibility
from hall.cases.timeline import append_event
from hall.db import Database
from tests.conftest import ClientFactory
from tests.support import Client, HttpClient, login, registration, valid_id_number
from tests.web.test_deadlines_cli import run_hall
from web.app import create_app
from web.config import Config

MARCH = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NOTE = "内部研判：该信访人情绪激动，需重点关注"
PHONE = "13700001111"
NAME = "赵六"


class FixedClock:
    """The hall's clock stopped on a Monday in March 2026 (every deadline inside known years)."""

    def now(self) -> datetime:
        return MARCH


@pytest.fixture
async def server(config: Config) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(config, clock=FixedClock()))
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
async def anonymous(server: TestServer) -> AsyncIterator[HttpClient]:
    http = TestClient(server)
    await http.start_server()
    yield http
    await http.close()


@dataclass
class Filed:
    id: int
    number: str
    query_code: str


async def file_case(desk: Client, config: Config, n: int = 1) -> Filed:
    body = registration(name=NAME, phone=PHONE, id_number=valid_id_number(f"41010219800101{n:03d}"))
    created = await desk.post("/api/visit-requests", body, status=201)
    assert isinstance(created, dict)
    db = Database(config.hall.resolved_database_url())
    try:
        async with db.transaction() as session:
            case = await session.get_one(Case, created["case_id"])
            for visibility in (Visibility.STAFF, Visibility.RESTRICTED):
                await append_event(
                    session,
                    case_id=case.id,
                    kind="note",
                    at=MARCH,
                    actor_id=None,
                    visibility=visibility,
                    data={"text": NOTE},
                )
            return Filed(case.id, case.number, case.query_code)
    finally:
        await db.close()


async def test_officer_moves_a_case_and_sees_the_next_states(
    client_as: ClientFactory, config: Config
) -> None:
    case = await file_case(await client_as("desk"), config)
    officer = await client_as("officer-urban")
    path = f"/api/cases/{case.id}/transitions"
    state = await officer.get(path)
    assert isinstance(state, dict)
    assert state["state"] == "registered"
    assert [a["to"] for a in state["allowed"]] == ["triaged", "merged", "withdrawn"]
    await officer.post(path, {"to": "triaged", "reason": "分流至城建"})
    done = await officer.post(
        path,
        {"to": "accepted", "reason": "依法受理", "classification": "claim", "claim_type": 2},
    )
    assert isinstance(done, dict)
    assert (done["state"], done["stage"], done["classification"]) == ("accepted", "已受理", "claim")
    assert [a["to"] for a in done["allowed"]] == ["in_progress", "merged", "withdrawn"]
    assert done["due"]["handle"]["date"] == "2026-05-06"  # 05-01 is in the Labour Day holiday
    refused = await officer.post(path, {"to": "final", "reason": "直接终结"}, status=409)
    assert isinstance(refused, dict)
    assert refused["error"]["code"] == "conflict"
    assert "当前状态为 accepted" in refused["error"]["message"]
    resp = await officer.http.post(path, json={"to": "in_progress", "reason": "开始办理"})
    assert resp.status == 403  # no CSRF token
    page = await officer.http.get(f"/cases/{case.id}")
    html = await page.text()
    assert 'id="transitions"' in html
    # Times on the page are the hall's wall clock (UTC+8), not the stored UTC.
    assert "<time>2026-03-02 10:00:00</time>" in html
    assert "2026-03-02 02:00" not in html


async def test_transition_roles(client_as: ClientFactory, config: Config) -> None:
    case = await file_case(await client_as("desk"), config)
    path = f"/api/cases/{case.id}/transitions"
    for username in ("desk", "officer-legal", "village-zhangzhuang"):
        client = await client_as(username)
        await client.get(path, status=403)
        await client.post(path, {"to": "triaged", "reason": "分流"}, status=403)
    leader = await client_as("leader")
    await leader.post(path, {"to": "triaged", "reason": "分流"})


async def test_public_query_shows_stage_and_public_events_only(
    client_as: ClientFactory, config: Config, anonymous: HttpClient
) -> None:
    case = await file_case(await client_as("desk"), config)
    query = {"number": case.number, "query_code": case.query_code}
    registered = await anonymous.post("/api/public/query", json=query)
    assert registered.status == 200
    # A registered case already runs its periods: the hall's 10-working-day promise (2026-03-03
    # .. 03-16) ends before the 15 days to accept (03-17), as on the case page.
    assert (await registered.json())["due"] == {"date": "2026-03-16", "label": "答复承诺期限"}
    officer = await client_as("officer-urban")
    path = f"/api/cases/{case.id}/transitions"
    await officer.post(path, {"to": "triaged", "reason": NOTE})
    await officer.post(path, {"to": "accepted", "reason": NOTE, "classification": "suggestion"})
    page = await anonymous.get("/query")
    assert page.status == 200
    html = await page.text()
    assert "查询码" in html
    resp = await anonymous.post(
        "/api/public/query", json={"number": case.number, "query_code": case.query_code.lower()}
    )
    text = await resp.text()
    assert resp.status == 200, text
    data = await resp.json()
    assert data["stage"] == "已受理"
    assert data["unit"] == "城建接谈室"
    assert data["due"] == {"date": "2026-05-06", "label": "办理期限"}
    assert data["events"] == [
        {"kind": "registered", "label": "登记", "date": "2026-03-02"},
        {"kind": "state_changed", "label": "已受理", "date": "2026-03-02"},
    ]
    id_number = valid_id_number("41010219800101001")
    for secret in (NAME, id_number, id_number[-4:] + '"', PHONE, PHONE[-4:], NOTE, "note"):
        assert secret not in text
        assert secret not in html


async def test_wrong_number_or_code_is_the_same_404(
    client_as: ClientFactory, config: Config, anonymous: HttpClient
) -> None:
    case = await file_case(await client_as("desk"), config)
    answers = []
    for number, code in ((case.number, "WRONG1"), ("JF20990101999999", case.query_code)):
        resp = await anonymous.post(
            "/api/public/query", json={"number": number, "query_code": code}
        )
        assert resp.status == 404
        answers.append(await resp.json())
    assert answers[0] == answers[1]
    form = await anonymous.post(
        "/api/public/query", data={"number": case.number, "query_code": case.query_code}
    )
    assert form.status == 400  # a cross-site form post is not JSON


async def test_guessing_a_code_is_throttled(
    client_as: ClientFactory, config: Config, anonymous: HttpClient
) -> None:
    case = await file_case(await client_as("desk"), config)
    body = {"number": case.number, "query_code": "ZZZZZZ"}
    for _ in range(10):
        assert (await anonymous.post("/api/public/query", json=body)).status == 404
    right = {"number": case.number, "query_code": case.query_code}
    resp = await anonymous.post("/api/public/query", json=right)
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert (await resp.json())["error"]["code"] == "rate_limited"


def _prepare(config: Config, count: int) -> list[int]:
    async def go() -> list[int]:
        server = TestServer(create_app(config, clock=FixedClock()))
        await server.start_server()
        http = TestClient(server)
        await http.start_server()
        try:
            desk = await login(http, "desk")
            return [(await file_case(desk, config, n)).id for n in range(count)]
        finally:
            await http.close()
            await server.close()

    return asyncio.run(go())


def test_verify_chain_reports_an_edited_event(config: Config) -> None:
    data_dir = str(config.hall.data_dir)
    first, second = _prepare(config, 2)
    intact = run_hall("verify-chain", "--data-dir", data_dir)
    assert intact.returncode == 0, intact.stderr
    assert "checked 2 case(s): intact" in intact.stdout
    with sqlite3.connect(Path(data_dir) / "hall.db") as conn:
        conn.execute(
            "UPDATE case_events SET data = ? WHERE case_id = ? AND seq = 2",
            ('{"text": "改过的记录"}', second),
        )
    broken = run_hall("verify-chain", "--data-dir", data_dir)
    assert broken.returncode == 1, broken.stdout
    assert f"case {second} (" in broken.stdout
    assert "event 2: content does not match its hash" in broken.stdout
    assert f"case {first} (" not in broken.stdout
    one = run_hall("verify-chain", "--case", str(first), "--data-dir", data_dir)
    assert one.returncode == 0
    assert "checked 1 case(s): intact" in one.stdout
    missing = run_hall("verify-chain", "--case", "9999", "--data-dir", data_dir)
    assert missing.returncode == 2
