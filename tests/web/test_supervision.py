"""Supervision routes through the real app: role matrix, the stats JSON, bad days, the page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hall.queue.stats import hall_day
from tests.conftest import ClientFactory
from tests.hall.queue.test_queue_stats import DAY, build_log
from web import keys

ALLOWED = ["supervisor", "admin", "leader", "desk"]
REFUSED = ["village-zhangzhuang", "officer-urban"]
ROUTES = ["/api/queue/stats", "/supervisor/queues"]
FIGURE_KEYS = {
    "joined",
    "people",
    "answered",
    "asa_s",
    "wait_p50_s",
    "wait_p90_s",
    "abandoned",
    "short_abandons",
    "long_abandons",
    "abandon_rate",
    "sl1",
    "sl2",
    "finished",
    "avg_handle_s",
    "no_shows",
    "transfers_out",
    "transfers_undone",
    "missed_calls",
    "waiting_now",
    "longest_wait_s",
}


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("username", ALLOWED + REFUSED)
async def test_role_matrix(client_as: ClientFactory, username: str, path: str) -> None:
    client = await client_as(username)
    resp = await client.http.get(path, headers={"Accept": "application/json"})
    if username in ALLOWED:
        assert resp.status == 200, await resp.text()
    else:
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "forbidden"


async def test_stats_need_a_login(server: TestServer) -> None:
    async with TestClient(server) as http:
        resp = await http.get("/api/queue/stats")
        assert resp.status == 401


async def test_stats_of_a_day_carry_every_rate_with_its_parts(
    server: TestServer, client_as: ClientFactory
) -> None:
    await build_log(server.app[keys.DB])
    supervisor = await client_as("supervisor")
    data = await supervisor.get(f"/api/queue/stats?day={DAY.isoformat()}")
    assert isinstance(data, dict)
    assert data["day"] == "2026-11-02"
    assert (data["from"], data["to"]) == ("2026-11-02T00:00:00+08:00", "2026-11-03T00:00:00+08:00")
    assert (data["live"], data["service_level_s"], data["short_abandon_s"]) == (False, 600, 30)
    assert [line["letter"] for line in data["lines"]] == list("ABCDEFG")
    urban = next(line for line in data["lines"] if line["code"] == "urban")
    assert set(urban["figures"]) == FIGURE_KEYS
    figures = urban["figures"]
    assert figures["sl1"] == {"value": 0.8571, "numerator": 6, "denominator": 7}
    assert figures["sl2"] == {"value": 0.6667, "numerator": 6, "denominator": 9}
    assert figures["abandon_rate"] == {"value": 0.2222, "numerator": 2, "denominator": 9}
    assert (figures["answered"], figures["asa_s"], figures["wait_p90_s"]) == (7, 194.3, 700.0)
    assert (figures["waiting_now"], figures["longest_wait_s"]) == (None, None)
    legal = next(line for line in data["lines"] if line["code"] == "legal")["figures"]
    assert legal["sl1"] == {"value": None, "numerator": 0, "denominator": 0}
    assert legal["asa_s"] is None
    assert data["total"]["answered"] == 8


async def test_the_default_day_is_today_in_the_hall(client_as: ClientFactory) -> None:
    desk = await client_as("desk")
    before = hall_day(datetime.now(UTC))
    data = await desk.get("/api/queue/stats")
    assert isinstance(data, dict)
    assert data["day"] in {before.isoformat(), hall_day(datetime.now(UTC)).isoformat()}
    assert data["live"] is True
    assert data["total"]["waiting_now"] == 0


@pytest.mark.parametrize("day", ["2026-13-01", "2026-02-30", "20261101", "yesterday", "2026-1-1"])
async def test_a_bad_day_is_invalid_input(client_as: ClientFactory, day: str) -> None:
    leader = await client_as("leader")
    data = await leader.get(f"/api/queue/stats?day={day}", status=422)
    assert isinstance(data, dict)
    assert data["error"]["code"] == "invalid_input"
    assert set(data["error"]["fields"]) == {"day"}


async def test_the_page_shows_the_figures_of_a_day(
    server: TestServer, client_as: ClientFactory
) -> None:
    await build_log(server.app[keys.DB])
    supervisor = await client_as("supervisor")
    resp = await supervisor.http.get(f"/supervisor/queues?day={DAY.isoformat()}")
    assert resp.status == 200
    html = await resp.text()
    for text in (
        "排队督查 · 2026-11-02",
        '<input type="date" name="day" value="2026-11-02"',
        "C · 城建",
        "平均应答时间 ASA",
        "3分14秒",  # ASA 194.3 s
        "85.7%",  # SL1
        "6 / 7",
        "22.2%",  # abandonment
        "2 / 9",
        "11分40秒",  # p90
        "仅当日实时显示",
        "/static/js/supervisor.js",
    ):
        assert text in html, text
    assert "—" in html  # the empty lines' rates
    script = await supervisor.http.get("/static/js/supervisor.js")
    assert script.status == 200
    assert "/api/queue/stats" in await script.text()


async def test_the_page_refuses_a_bad_day(client_as: ClientFactory) -> None:
    admin = await client_as("admin")
    data = await admin.get("/supervisor/queues?day=2026-13-01", status=422)
    assert isinstance(data, dict)
    assert data["error"]["fields"]["day"]
