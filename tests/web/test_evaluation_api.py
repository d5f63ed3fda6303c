"""Evaluation over HTTP: the terminal's 待评价 list and its rating on the petitioner's behalf
(roles, CSRF, bad input), the sweep that expires windows with no request, and the figures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hall.cases.tables import CaseEvent, Evaluation
from hall.db import Database
from tests.conftest import ClientFactory
from tests.support import Client, registration, valid_id_number
from tests.web.test_case_transitions import MARCH
from tests.web.test_notice_api import MovableClock
from web.app import create_app
from web.config import Config

PATH = "/api/terminal/evaluations"


@pytest.fixture
def clock() -> MovableClock:
    clock = MovableClock()
    clock.at = MARCH
    return clock


@pytest.fixture
async def server(config: Config, clock: MovableClock) -> AsyncIterator[TestServer]:
    fast = replace(config, case=replace(config.case, evaluation_sweep_s=0.05))
    srv = TestServer(create_app(fast, clock=clock))
    await srv.start_server()
    yield srv
    await srv.close()


async def answered(client_as: ClientFactory, n: int, registrar: str = "village-zhangzhuang") -> int:
    """A case registered by `registrar`, answered by the line's officer; returns its id."""
    body = registration(id_number=valid_id_number(f"41010219800303{n:03d}"), name="孙八")
    created = await (await client_as(registrar)).post("/api/visit-requests", body, status=201)
    assert isinstance(created, dict)
    case_id = int(created["case_id"])
    officer = await client_as("officer-urban")
    path = f"/api/cases/{case_id}/transitions"
    await officer.post(path, {"to": "triaged", "reason": "分流"})
    await officer.post(path, {"to": "accepted", "reason": "受理", "classification": "suggestion"})
    await officer.post(path, {"to": "in_progress", "reason": "办理"})
    await officer.post(path, {"to": "responded", "reason": "已协调解决", "outcome": "support"})
    return case_id


async def test_the_terminal_rates_a_response_on_the_petitioners_behalf(
    client_as: ClientFactory,
) -> None:
    case_id = await answered(client_as, 1)
    await answered(client_as, 2, registrar="desk")  # not registered at the terminal
    terminal = await client_as("village-zhangzhuang")
    listed = await terminal.get(PATH)
    assert isinstance(listed, dict)
    assert [
        (c["case_id"], c["petitioner"], c["outcome"], c["deadline"]) for c in listed["cases"]
    ] == [(case_id, "孙*", "支持", "2026-04-01")]
    assert "13800138000" not in str(listed)
    rate = f"/api/terminal/cases/{case_id}/evaluation"
    other = await client_as("village-lijiawan")
    assert await other.get(PATH) == {"cases": []}
    await other.post(rate, {"grade": "satisfied"}, status=403)
    officer = await client_as("officer-urban")
    await officer.get(PATH, status=403)
    await officer.post(rate, {"grade": "satisfied"}, status=403)
    resp = await terminal.http.post(rate, json={"grade": "satisfied"})
    assert (resp.status, (await resp.json())["error"]["code"]) == (403, "csrf_failed")
    for body, field in (
        ({"grade": "great"}, "grade"),
        ({"grade": "satisfied", "comment": "好" * 501}, "comment"),
        ({"comment": "无评价"}, "grade"),
        ({"grade": "satisfied", "channel": "query"}, "channel"),
    ):
        bad = await terminal.post(rate, body, status=422)
        assert isinstance(bad, dict) and field in bad["error"]["fields"], body
    await terminal.post("/api/terminal/cases/99999/evaluation", {"grade": "satisfied"}, status=404)
    assert await terminal.get(PATH) == listed  # nothing half-written
    done = await terminal.post(rate, {"grade": "satisfied", "comment": "本人表示满意"}, status=201)
    assert isinstance(done, dict)
    assert (done["state"], done["grade_label"], done["channel"]) == (
        "evaluated",
        "满意",
        "terminal",
    )
    again = await terminal.post(rate, {"grade": "dissatisfied"}, status=409)
    assert isinstance(again, dict) and "已评价" in again["error"]["message"]
    assert await terminal.get(PATH) == {"cases": []}
    status = await officer.get(f"/api/cases/{case_id}/department")
    assert isinstance(status, dict)
    assert status["evaluation"]["channel_label"] == "村信息中心终端"
    page = await (await officer.http.get(f"/cases/{case_id}")).text()
    assert "满意 · 村信息中心终端" in page


async def test_the_sweep_expires_a_passed_window_without_any_request(
    client_as: ClientFactory, config: Config, clock: MovableClock
) -> None:
    case_id = await answered(client_as, 3)
    db = Database(config.hall.resolved_database_url())
    try:

        async def expired() -> list[str]:
            async with db.reader() as session:
                rows = await session.scalars(
                    select(Evaluation.state).where(Evaluation.case_id == case_id)
                )
                return list(rows)

        await asyncio.sleep(0.3)  # several sweeps inside the window: nothing recorded
        assert await expired() == []
        clock.at = MARCH + timedelta(days=31)  # 2026-04-02: the window ended on 04-01
        for _ in range(100):
            if await expired():
                break
            await asyncio.sleep(0.05)
        assert await expired() == ["expired"]
        await asyncio.sleep(0.3)  # more sweeps change nothing
        async with db.reader() as session:
            kinds = list(
                await session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id))
            )
        assert kinds.count("evaluation_expired") == 1
        assert await expired() == ["expired"]
    finally:
        await db.close()


async def test_figures_route_roles_and_bad_ranges(client_as: ClientFactory) -> None:
    case_id = await answered(client_as, 4)
    terminal = await client_as("village-zhangzhuang")
    await terminal.post(
        f"/api/terminal/cases/{case_id}/evaluation", {"grade": "basically_satisfied"}, status=201
    )
    supervisor = await client_as("supervisor")
    march = await supervisor.get("/api/evaluations/stats?from=2026-03-01&to=2026-03-31")
    assert isinstance(march, dict)
    assert march["total"]["participation"] == {"value": 1.0, "numerator": 1, "denominator": 1}
    assert march["total"]["satisfaction"] == {"value": 1.0, "numerator": 1, "denominator": 1}
    urban = next(line for line in march["lines"] if line["code"] == "urban")
    assert urban["grades"] == {"satisfied": 0, "basically_satisfied": 1, "dissatisfied": 0}
    assert march["departments"][0]["name"] == "本厅直接办理"
    default = await supervisor.get("/api/evaluations/stats")
    assert isinstance(default, dict) and (default["from"], default["to"]) == (
        "2026-03-01",
        "2026-03-02",
    )
    april = await supervisor.get("/api/evaluations/stats?from=2026-04-01&to=2026-04-30")
    assert isinstance(april, dict) and april["total"]["responses"] == 0
    for query, field in (
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-03-31&to=2026-03-01", "to"),
        ("from=2024-01-01&to=2026-03-01", "to"),
        ("day=2026-03-01", "day"),
    ):
        bad = await supervisor.get(f"/api/evaluations/stats?{query}", status=422)
        assert isinstance(bad, dict) and field in bad["error"]["fields"], query
    for username in ("officer-urban", "desk", "village-zhangzhuang", "dept-zhujian"):
        await (await client_as(username)).get("/api/evaluations/stats", status=403)
    leader: Client = await client_as("leader")
    page = await leader.http.get("/supervisor/evaluations?from=2026-03-01&to=2026-03-31")
    html = await page.text()
    assert page.status == 200 and "满意度统计" in html and "100.0%" in html
    officer_page = await (await client_as("officer-urban")).http.get("/supervisor/evaluations")
    assert officer_page.status == 403
