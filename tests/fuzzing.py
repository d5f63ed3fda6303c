"""Fuzzing shared by the fuzz tests (tests/web/test_fuzz.py) and the longer campaign
(bench/fuzz.py): the routes to fuzz, read from the app's route table; hypothesis strategies for
path parameters, query strings, JSON bodies and signaling frames; and the checks of an answer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import strategies as st
from yarl import URL

from signaling.messages import CLIENT_TYPES
from tests.support import HttpClient, login
from web import keys
from web.app import DEMO_LOGINS

# Routes the fuzzers leave alone: the login form (its throttle would lock the fuzzing accounts
# out), logout (it would end the fuzzing session), the WebSocket (fuzzed frame by frame) and
# static files.
SKIPPED = {"POST /login", "POST /logout", "GET /ws", "GET /static"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
HUGE_INTS = (2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, -1, 0)
NASTY_TEXT = (
    "\ud800",
    "a\udfffb",
    "",
    " ",
    "\x00",
    "9" * 5000,
    "x" * 70_000,
    "../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "县住建局\u200b",
    "JF20261102000001",
    "null",
)
# Values a real client would send for common field names, so that some bodies get past the
# first check and reach the domain.
PLAUSIBLE: dict[str, tuple[Any, ...]] = {
    "line": ("urban", "legal"),
    "village_id": (1, 2),
    "head_count": (1, 3),
    "name": ("张三", "某局"),
    "id_number": ("11010519491231002X",),
    "phone": ("13800138000",),
    "summary": ("宅基地纠纷",),
    "reason": ("同一事项",),
    "to": ("accepted", "not_accepted", "redirected", "in_progress", "answered"),
    "outcome": ("resolved", "accepted"),
    "day": ("2026-11-02", "9999-12-31"),
    "kind": ("holiday", "workday"),
    "state": ("available", "away"),
    "into": (1, "JF20261102000001"),
    "grade": ("satisfied", "dissatisfied"),
    "number": ("JF20261102000001",),
    "query_code": ("123456",),
    "feedback_due": ("2026-11-20", "9999-12-31"),
    "enabled": (True, False),
    "method": ("in_person", "mail"),
    "role": ("desk", "officer"),
    "username": ("desk", "newuser1"),
    "password": ("long-enough-password-1",),
    "code": ("zhujian",),
}
QUERY_KEYS = (
    "day",
    "from",
    "to",
    "year",
    "line",
    "state",
    "due_from",
    "due_to",
    "owner",
    "limit",
    "overdue",
    "download",
    "inline",
    "x",
)


@dataclass(frozen=True, slots=True)
class Route:
    """One route of the table: method, canonical path, the regex of each placeholder (None when
    it takes any segment) and the roles allowed on it ("public" for anyone)."""

    method: str
    path: str
    params: tuple[tuple[str, bool], ...]  # each placeholder, and whether it is a `\d+` id
    roles: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, values: dict[str, str]) -> str:
        """The path with each placeholder replaced by its percent-encoded UTF-8 bytes (a lone
        surrogate goes out as the bytes it would have, which are no UTF-8)."""
        return _PLACEHOLDER.sub(
            lambda m: quote(values[m.group(1)].encode("utf-8", "surrogatepass"), safe=""),
            self.path,
        )


def routes(app: web.Application) -> list[Route]:
    """Every route of `app` with a role policy, but SKIPPED ones and HEAD; routes that can end
    the fuzzing accounts (`/api/admin/users/…`) come last."""
    found: list[Route] = []
    for route in app.router.routes():
        resource = route.resource
        if route.method == "HEAD" or resource is None:
            continue
        key = f"{route.method} {resource.canonical}"
        if key in SKIPPED or key not in app[keys.POLICIES]:
            continue
        pattern = resource.get_info().get("pattern")
        regex = pattern.pattern if pattern is not None else ""
        params = tuple(
            (m.group(1), f"(?P<{m.group(1)}>\\d+)" in regex)
            for m in _PLACEHOLDER.finditer(resource.canonical)
        )
        found.append(Route(route.method, resource.canonical, params, app[keys.POLICIES][key]))
    return sorted(found, key=lambda r: ("/api/admin/users/" in r.path, r.key))


def texts(*, in_url: bool = False) -> st.SearchStrategy[str]:
    """Strings: arbitrary unicode (lone surrogates included), long ones and known nasty ones.
    `in_url`: none longer than 1,000 characters, since a request line over 8,190 bytes is
    refused by aiohttp's HTTP parser (400, plain text) before the app sees the request."""
    nasty = [t for t in NASTY_TEXT if len(t) <= 1000] if in_url else list(NASTY_TEXT)
    return st.one_of(
        st.sampled_from(nasty),
        st.text(max_size=40),
        st.text(st.characters(codec=None, categories=["Cs", "Lo", "Zs", "Cc"]), max_size=20),
        st.text(alphabet="0123456789-:T+", max_size=30),
    )


def ints() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(HUGE_INTS), st.integers(-5, 40), st.integers())


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON value, nested, with the nasty strings and integers above."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        ints(),
        st.floats(allow_nan=True, allow_infinity=True),
        texts(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5), st.dictionaries(texts(), inner, max_size=5)
        ),
        max_leaves=max_leaves,
    )


def field_values(name: str) -> st.SearchStrategy[Any]:
    plausible = PLAUSIBLE.get(name)
    values = json_values(8)
    return st.one_of(st.sampled_from(plausible), values) if plausible else values


def bodies(fields: list[str]) -> st.SearchStrategy[str]:
    """Request bodies as text: the route's known fields with right-ish or wrong values (an extra
    field sometimes), any JSON value, or text no JSON parser takes whole."""
    shaped = st.fixed_dictionaries(
        {name: field_values(name) for name in fields},
        optional={"extra": json_values(4)},
    )
    raw = st.sampled_from(
        (
            "[" * 100_000,
            '{"a": ' + "9" * 5000 + "}",
            '{"a": "\\ud800"}',
            "",
            "{",
            "null",
            '{"a": NaN}',
        )
    )
    as_json = st.one_of(shaped, shaped, json_values()).map(_dumps)
    return st.one_of(as_json, raw, st.text(max_size=50))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True)


def path_values(is_id: bool) -> st.SearchStrategy[str]:
    """Path segments: ids (small, at and past 2^63, 5,000 digits) for `\\d+` placeholders,
    anything for the others; some that do not match the placeholder at all."""
    digits = st.one_of(
        st.integers(0, 30).map(str),
        st.sampled_from([str(2**63 - 1), str(2**63), str(2**64), "9" * 1000, "0" * 30 + "1"]),
        st.integers(min_value=0).map(str),
    )
    if is_id:
        return st.one_of(digits, digits, st.sampled_from(["-1", "١٢", "1e3", "x"]))
    return st.one_of(texts(in_url=True).filter(bool), digits)


def query_strings() -> st.SearchStrategy[str]:
    pairs = st.lists(
        st.tuples(
            st.one_of(st.sampled_from(QUERY_KEYS), st.text(max_size=8)),
            st.one_of(texts(in_url=True), ints().map(str)),
        ),
        max_size=4,
    )
    # errors="surrogatepass": a lone surrogate goes out as its (invalid) UTF-8 bytes.
    return pairs.map(lambda p: urlencode(p, encoding="utf-8", errors="surrogatepass"))


def frames() -> st.SearchStrategy[str]:
    """Signaling frames as text: every client type with right-ish or wrong fields, unknown
    types, refs of every kind, and text no JSON parser takes whole."""
    fields = {
        "ref": st.one_of(ints(), texts(), json_values(4)),
        "topic": st.one_of(
            st.sampled_from(["board", "line:urban", "ticket:1", "visit:1", "officer:1"]),
            st.builds(lambda k, n: f"{k}:{n}", st.sampled_from(["ticket", "visit"]), ints()),
            texts(),
        ),
        "room": st.one_of(st.builds(lambda n: f"visit-{n}", ints()), texts()),
        "sdp": st.one_of(texts(), st.just("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\n")),
        "extra": json_values(4),
    }
    shaped = st.builds(
        lambda kind, chosen: {"type": kind, **chosen},
        st.one_of(st.sampled_from(CLIENT_TYPES), texts(), json_values(3)),
        st.dictionaries(st.sampled_from(sorted(fields)), st.none(), max_size=4).flatmap(
            lambda names: st.fixed_dictionaries({name: fields[name] for name in names})
        ),
    )
    raw = st.sampled_from(
        (
            '{"type": "ping", "ref": ' + "[" * 50_000,
            '{"type": "ping", "ref": ' + "9" * 5000 + "}",
            '{"type": "ping", "ref": "\\ud800"}',
            "[1, 2]",
            "",
            "{",
        )
    )
    return st.one_of(shaped.map(_dumps), shaped.map(_dumps), json_values().map(_dumps), raw)


def answer_problem(status: int, content_type: str, body: bytes) -> str | None:
    """What is wrong with an HTTP answer to fuzzed input (None when nothing): a 5xx, or a 4xx
    that is not `{"error": {"code", "message"[, "fields"][, details]}}` JSON."""
    if status >= 500:
        return f"server error {status}: {body[:200]!r}"
    if status < 400:
        return None
    if content_type != "application/json":
        return f"{status} answered as {content_type}: {body[:200]!r}"
    try:
        data = json.loads(body)
    except ValueError:
        return f"{status} with a body that is not JSON: {body[:200]!r}"
    error = data.get("error") if isinstance(data, dict) else None
    if set(data) != {"error"} or not isinstance(error, dict):
        return f"{status} not in the error shape: {data!r:.200}"
    if not (isinstance(error.get("code"), str) and isinstance(error.get("message"), str)):
        return f"{status} error without code and message: {error!r:.200}"
    fields = error.get("fields", {})
    if not (isinstance(fields, dict) and all(isinstance(v, str) for v in fields.values())):
        return f"{status} error with malformed fields: {error!r:.200}"
    return None


def required_fields(status: int, body: bytes) -> list[str]:
    """The fields an empty JSON object lacked, from the route's 422 answer to `{}`."""
    if status != 422:
        return []
    fields = json.loads(body)["error"].get("fields", {})
    return sorted(str(name) for name in fields if "." not in str(name))


@dataclass
class Fuzzer:
    """A running app's test server, one logged-in client per role of the demo accounts (and an
    anonymous one, "public"), the CSRF token of each, the body fields each route asked for, and
    the fuzzed WebSocket."""

    server: TestServer
    clients: dict[str, HttpClient]
    csrf: dict[str, str]
    fields: dict[str, list[str]] = field(default_factory=dict)
    socket: aiohttp.ClientWebSocketResponse | None = None

    async def request(
        self, role: str, method: str, url: str, body: str | None
    ) -> tuple[int, str, bytes]:
        """One request as `role`, the URL sent as given; (status, content type, body)."""
        headers = {"Accept": "application/json", "X-CSRF-Token": self.csrf[role]}
        if body is not None:
            headers["Content-Type"] = "application/json"
        data = None if body is None else body.encode("utf-8", "surrogatepass")
        resp = await self.clients[role].request(
            method, URL(url, encoded=True), data=data, headers=headers
        )
        return resp.status, resp.content_type, await resp.read()

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        for http in self.clients.values():
            await http.close()
        await self.server.close()


async def open_fuzzer(app: web.Application) -> Fuzzer:
    """Serve `app` (seeded with the demo accounts) and log one client in per role."""
    server = TestServer(app)
    await server.start_server()
    clients: dict[str, HttpClient] = {}
    csrf: dict[str, str] = {}
    for demo in app[DEMO_LOGINS]:
        if demo.role not in clients:
            http = TestClient(server)
            await http.start_server()
            clients[demo.role] = http
            csrf[demo.role] = (await login(http, demo.username, demo.password)).csrf
    anonymous = TestClient(server)
    await anonymous.start_server()
    clients["public"], csrf["public"] = anonymous, ""
    return Fuzzer(server, clients, csrf)


async def http_case(fuzzer: Fuzzer, route: Route, data: st.DataObject) -> tuple[str, str | None]:
    """Send `route` one request drawn from `data`, as a role allowed on it: random path values,
    query string and (but for GET and DELETE) body. Returns what was sent and the problem of
    the answer (None when it is a 2xx/3xx or a 4xx in the error shape)."""
    role = data.draw(st.sampled_from(sorted(route.roles & set(fuzzer.clients))), label="role")
    values = {name: data.draw(path_values(is_id), label=name) for name, is_id in route.params}
    url = route.url(values)
    query = data.draw(query_strings(), label="query")
    if query:
        url = f"{url}?{query}"
    body = None
    if route.method not in ("GET", "DELETE"):
        if route.key not in fuzzer.fields:  # the fields an empty object lacks, asked once
            status, _, answer = await fuzzer.request(role, route.method, route.url(values), "{}")
            fuzzer.fields[route.key] = required_fields(status, answer)
        body = data.draw(bodies(fuzzer.fields[route.key]), label="body")
    status, content_type, answer = await fuzzer.request(role, route.method, url, body)
    sent = f"{route.method} {url[:300]} as {role}"
    return sent, answer_problem(status, content_type, answer)


async def frame_case(fuzzer: Fuzzer, text: str, role: str = "desk") -> list[str]:
    """Send one frame on the fuzzed socket (opened as `role` when there is none), then a `ping`;
    the problems seen until its `pong`: `internal_error` answers, or a socket that closed or
    stopped answering (a new one is opened for the next frame)."""
    if fuzzer.socket is None or fuzzer.socket.closed:
        fuzzer.socket = await fuzzer.clients[role].ws_connect("/ws")
    ws = fuzzer.socket
    await ws.send_str(text)  # ASCII: the strategies escape every non-ASCII character
    await ws.send_str(json.dumps({"type": "ping", "ref": "fuzz-alive"}))
    problems: list[str] = []
    while True:
        try:
            msg = await ws.receive(timeout=10)
        except TimeoutError:
            await ws.close()
            return [*problems, "no pong within 10 s"]
        if msg.type != aiohttp.WSMsgType.TEXT:
            return [*problems, f"socket ended: {msg.type.name} {msg.data!r:.80}"]
        frame = json.loads(msg.data)
        if frame["type"] == "error" and frame["error"]["code"] == "internal_error":
            problems.append(f"internal_error: {frame!r:.200}")
        if frame["type"] == "pong" and frame.get("ref") == "fuzz-alive":
            return problems
