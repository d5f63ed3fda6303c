"""The public query's edge (issue 8): a guesser limits only its own address, so the petitioner
can still query their case and evaluate the reply; overlong fields are refused and kept nowhere."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import ClientFactory
from tests.support import HttpClient, behind_proxy
from tests.web.test_case_transitions import FixedClock, file_case
from web import keys
from web.app import create_app
from web.config import Config

DELAY_MAX_S = 0.2
PUBLIC_ROUTES = ("/api/public/query", "/api/public/evaluation/status", "/api/public/evaluation")


@pytest.fixture
def proxied(config: Config) -> Config:
    return behind_proxy(config, query_delay_max_s=DELAY_MAX_S)


@pytest.fixture
async def server(proxied: Config) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(proxied, clock=FixedClock()))
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
async def anonymous(server: TestServer) -> AsyncIterator[HttpClient]:
    async with TestClient(server) as http:
        yield http


async def query(
    http: HttpClient, number: str, code: str, address: str, path: str = "/api/public/query"
) -> tuple[int, dict[str, Any], str]:
    """(status, JSON body, Retry-After) of one public query from `address`."""
    body: dict[str, object] = {"number": number, "query_code": code}
    if path == "/api/public/evaluation":
        body["grade"] = "satisfied"
    resp = await http.post(path, json=body, headers={"X-Forwarded-For": address})
    return resp.status, await resp.json(), resp.headers.get("Retry-After", "")


async def test_a_guesser_elsewhere_does_not_block_the_petitioner(
    client_as: ClientFactory, proxied: Config, anonymous: HttpClient
) -> None:
    case = await file_case(await client_as("desk"), proxied)
    for _ in range(proxied.throttle.query_failures):
        status, _, _ = await query(anonymous, case.number, "ZZZZZZ", "10.0.0.66")
        assert status == 404
    # The guesser's own address is limited, on the query and on the evaluation routes.
    for path in PUBLIC_ROUTES:
        status, body, retry = await query(
            anonymous, case.number, case.query_code, "10.0.0.66", path
        )
        assert status == 429, path
        assert body["error"] == {"code": "rate_limited", "message": "查询失败次数过多，请稍后再试"}
        assert 0 < int(retry) <= proxied.throttle.query_window_s
    # The petitioner, at home: slowed down a little, not refused.
    started = time.monotonic()
    status, body, _ = await query(anonymous, case.number, case.query_code.lower(), "10.0.0.7")
    assert status == 200, body
    assert body["number"] == case.number
    assert time.monotonic() - started >= DELAY_MAX_S
    status, body, _ = await query(
        anonymous, case.number, case.query_code, "10.0.0.7", "/api/public/evaluation/status"
    )
    assert (status, body["state"]) == (200, "not_open")


async def test_the_guessers_address_is_limited_across_numbers(
    proxied: Config, anonymous: HttpClient
) -> None:
    for n in range(proxied.throttle.query_address_failures):
        status, _, _ = await query(anonymous, f"JF20260302{n:06d}", "AAAAAA", "10.0.0.66")
        assert status == 404
    status, body, retry = await query(anonymous, "JF20260302999999", "AAAAAA", "10.0.0.66")
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert int(retry) > 0
    status, _, _ = await query(anonymous, "JF20260302999999", "AAAAAA", "10.0.0.67")
    assert status == 404


@pytest.mark.parametrize("path", PUBLIC_ROUTES)
@pytest.mark.parametrize(
    ("number", "code", "field"),
    [("J" * 33, "AAAAAA", "number"), ("JF20260302000001", "A" * 17, "query_code")],
)
async def test_an_overlong_number_or_code_is_refused_and_kept_nowhere(
    server: TestServer, anonymous: HttpClient, path: str, number: str, code: str, field: str
) -> None:
    status, body, _ = await query(anonymous, number, code, "10.0.0.5", path)
    assert status == 422
    assert body["error"]["code"] == "invalid_input"
    assert field in body["error"]["fields"]
    assert server.app[keys.QUERY_THROTTLE].entries == 0
