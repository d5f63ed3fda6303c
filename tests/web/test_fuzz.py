"""Property-based fuzzing of the edges: every route of the route table, as a role allowed on it,
with random path parameters, query strings and JSON bodies, answers no 5xx and every 4xx in the
error shape; random signaling frames never answer `internal_error` and the socket still answers
`ping` after each.

Hypothesis runs derandomized (its seed comes from the test, not the clock) and with a fixed
number of examples, so that CI finds the same inputs on every run and stays within about a minute;
`make bench-fuzz` (bench/fuzz.py) runs the long, random campaign. One app serves the whole module:
mutating routes change its demo data as they go, which is accepted (the answers are checked for
their shape, not for their content).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from tests import fuzzing
from tests.conftest import copy_seeded
from tests.support import HttpClient, login
from web.app import DEMO_LOGINS, create_app
from web.config import Config

ROUTES = fuzzing.routes(create_app(Config.for_data_dir(Path("/nonexistent/fuzz-routes"))))
FUZZ = settings(
    max_examples=12,
    deadline=None,  # one request may take a while on a shared CI machine: no flaky deadlines
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the module's app and clients are shared on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclasses.dataclass
class Fuzzer:
    """The module's server, one logged-in client per role (and an anonymous one), the CSRF
    token of each, and the body fields each route asked for."""

    server: TestServer
    clients: dict[str, HttpClient]
    csrf: dict[str, str]
    fields: dict[str, list[str]]
    socket: aiohttp.ClientWebSocketResponse | None = None

    async def request(
        self, role: str, method: str, url: str, body: str | None
    ) -> tuple[int, str, bytes]:
        headers = {"Accept": "application/json", "X-CSRF-Token": self.csrf[role]}
        if body is not None:
            headers["Content-Type"] = "application/json"
        data = None if body is None else body.encode("utf-8", "surrogatepass")
        resp = await self.clients[role].request(
            method, URL(url, encoded=True), data=data, headers=headers
        )
        return resp.status, resp.content_type, await resp.read()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzzer(
    tmp_path_factory: pytest.TempPathFactory, seeded_db: Path
) -> AsyncIterator[Fuzzer]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    copy_seeded(seeded_db, data_dir)
    config = Config.for_data_dir(data_dir)
    # The frame rate limit is tested elsewhere; here it would only close the fuzzed socket.
    signaling = dataclasses.replace(config.signaling, rate_per_s=1e6, rate_burst=1_000_000)
    server = TestServer(create_app(dataclasses.replace(config, signaling=signaling)))
    await server.start_server()
    clients: dict[str, HttpClient] = {}
    csrf: dict[str, str] = {}
    for demo in server.app[DEMO_LOGINS]:
        if demo.role not in clients:
            http = TestClient(server)
            await http.start_server()
            clients[demo.role] = http
            csrf[demo.role] = (await login(http, demo.username)).csrf
    anonymous = TestClient(server)
    await anonymous.start_server()
    clients["public"], csrf["public"] = anonymous, ""
    fuzzer = Fuzzer(server, clients, csrf, {})
    yield fuzzer
    if fuzzer.socket is not None:
        await fuzzer.socket.close()
    for http in clients.values():
        await http.close()
    await server.close()


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
@FUZZ
@given(data=st.data())
async def test_no_route_answers_a_5xx_or_an_error_out_of_shape(
    fuzzer: Fuzzer, route: fuzzing.Route, data: st.DataObject
) -> None:
    role = data.draw(st.sampled_from(sorted(route.roles & set(fuzzer.clients))), label="role")
    values = {
        name: data.draw(fuzzing.path_values(is_id), label=name) for name, is_id in route.params
    }
    url = route.url(values)
    query = data.draw(fuzzing.query_strings(), label="query")
    if query:
        url = f"{url}?{query}"
    body = None
    if route.method not in ("GET", "DELETE"):
        if route.key not in fuzzer.fields:  # the fields an empty object lacks, asked once
            status, _, answer = await fuzzer.request(role, route.method, route.url(values), "{}")
            fuzzer.fields[route.key] = fuzzing.required_fields(status, answer)
        body = data.draw(fuzzing.bodies(fuzzer.fields[route.key]), label="body")
    status, content_type, answer = await fuzzer.request(role, route.method, url, body)
    problem = fuzzing.answer_problem(status, content_type, answer)
    assert problem is None, f"{route.method} {url[:300]} as {role}: {problem}"


@settings(FUZZ, max_examples=300)
@given(text=fuzzing.frames())
async def test_no_signaling_frame_answers_internal_error_or_ends_the_socket(
    fuzzer: Fuzzer, text: str
) -> None:
    if fuzzer.socket is None:
        fuzzer.socket = await fuzzer.clients["desk"].ws_connect("/ws")
    ws = fuzzer.socket
    assert not ws.closed, ws.close_code
    await ws.send_str(text)  # ASCII: the strategies escape every non-ASCII character
    await ws.send_str(json.dumps({"type": "ping", "ref": "fuzz-alive"}))
    while True:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.TEXT, (text[:200], msg)
        frame = json.loads(msg.data)
        if frame["type"] == "error":
            assert frame["error"]["code"] != "internal_error", (text[:200], frame)
        if frame["type"] == "pong" and frame.get("ref") == "fuzz-alive":
            break
