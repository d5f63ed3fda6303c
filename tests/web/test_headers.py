"""Security headers on every response the hall sends: each route of the route table as a role
it admits, error responses (401, 403, 404, 405, redirects), static assets, the WebSocket
handshake, and evidence downloads that keep their stricter sandbox policy; plus the favicon."""

from __future__ import annotations

import asyncio
import base64
import re

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict, CIMultiDictProxy

from tests.conftest import ClientFactory
from tests.document_fixtures import png, upload, upload_form
from tests.support import Client, HttpClient, registration
from web import keys
from web.auth import PUBLIC

# One account per role; the first role a route admits (in this order) is the one that calls it.
ROLE_USERS = {
    "desk": "desk",
    "officer": "officer-urban",
    "supervisor": "supervisor",
    "leader": "leader",
    "admin": "admin",
    "terminal": "village-zhangzhuang",
    "department": "dept-zhujian",
    "display": "hall-board",
}
# Path parameters: the ticket and case the test registers, unknown ids elsewhere (a 404 must
# carry the headers too), and unknown departments and accounts so that no admin call changes
# the accounts the walk goes on with.
PARAMS = {
    "code": "urban",
    "kind": "acceptance",
    "day": "2099-01-01",
    "year": "2099",
    "department_id": "999999",
    "user_id": "999999",
}
# Pages that open the camera and microphone (getUserMedia in call.js).
MEDIA_PAGES = {"/terminal", "/console"}
CSP_PARTS = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
DENIED_FEATURES = ("geolocation=()", "payment=()", "usb=()", "display-capture=()")

Headers = CIMultiDictProxy[str]


def assert_secured(headers: Headers, path: str, what: object) -> None:
    """The headers every response carries; `what` names the request in a failure."""
    csp = headers.get("Content-Security-Policy", "")
    for part in CSP_PARTS:
        assert part in csp, (what, part, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (what, csp)
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("Referrer-Policy") == "same-origin", what
    features = headers.get("Permissions-Policy", "")
    granted = (
        "camera=(self), microphone=(self)" if path in MEDIA_PAGES else "camera=(), microphone=()"
    )
    assert granted in features, (what, features)
    for denied in DENIED_FEATURES:
        assert denied in features, (what, denied, features)
    # Only assets may be kept by a browser; anything else may show a person.
    asset = path.startswith("/static/") or path == "/favicon.ico"
    assert ("no-store" in headers.get("Cache-Control", "")) != asset, what
    assert_no_server_version(headers, what)


def assert_no_server_version(headers: Headers, what: object) -> None:
    server = headers.get("Server", "")
    assert not re.search(r"aiohttp|python|\d", server, re.IGNORECASE), (what, server)


def concrete(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: params.get(m.group(1), "1"), path)


async def send(client: Client | HttpClient, method: str, path: str) -> ClientResponse:
    http = client.http if isinstance(client, Client) else client
    csrf = client.csrf if isinstance(client, Client) else ""
    return await http.request(
        method, path, json={}, headers={"X-CSRF-Token": csrf}, allow_redirects=False
    )


async def test_every_route_answers_with_the_security_headers(
    server: TestServer, client_as: ClientFactory
) -> None:
    clients = {role: await client_as(username) for role, username in ROLE_USERS.items()}
    created = await clients["desk"].post("/api/visit-requests", registration(), status=201)
    assert isinstance(created, dict)
    params = PARAMS | {
        "ticket_id": str(created["ticket"]["id"]),
        "case_id": str(created["case_id"]),
    }
    policies = server.app[keys.POLICIES]
    # Logging out ends the session the walk goes on with: last, with its own client.
    keys_in_order = sorted(policies, key=lambda key: key == "POST /logout")
    checked = 0
    async with TestClient(server) as anonymous:
        for key in keys_in_order:
            method, path = key.split(" ", 1)
            if path == "/static":
                continue  # its own test below
            roles = policies[key]
            if key == "POST /logout":
                caller: Client | HttpClient = await client_as("desk")
            elif roles == PUBLIC:
                caller = anonymous
            else:
                caller = clients[next(role for role in ROLE_USERS if role in roles)]
            resp = await send(caller, method, concrete(path, params))
            assert resp.status < 500, (key, resp.status, await resp.text())
            assert_secured(resp.headers, path, (key, resp.status))
            checked += 1
    assert checked >= 80, checked  # the walk really went over the route table


async def test_error_responses_and_redirects_carry_the_headers(server: TestServer) -> None:
    async with TestClient(server) as anonymous:
        for method, path, status in (
            ("GET", "/cases", 303),  # to the login page
            ("GET", "/api/me", 401),
            ("GET", "/no-such-page", 404),
            ("GET", "/api/no-such-route", 404),
            ("PUT", "/login", 405),
            ("POST", "/api/queue/call-next", 401),
        ):
            resp = await send(anonymous, method, path)
            assert resp.status == status, (method, path, resp.status)
            assert_secured(resp.headers, path, (method, path))


async def test_a_refused_role_gets_the_headers(client_as: ClientFactory) -> None:
    board = await client_as("hall-board")
    for path in ("/cases", "/api/cases", "/terminal"):
        resp = await board.http.get(path, headers={"Accept": "application/json"})
        assert resp.status == 403, path
        assert_secured(resp.headers, path, path)


async def test_the_websocket_handshake_carries_the_headers(
    server: TestServer, client_as: ClientFactory
) -> None:
    officer = await client_as("officer-urban")
    session = next(c for c in officer.http.session.cookie_jar if c.key == "jf_session")
    reader, writer = await asyncio.open_connection(server.host, server.port)
    key = base64.b64encode(b"sixteen byte key").decode()
    writer.write(
        (
            "GET /ws HTTP/1.1\r\n"
            f"Host: {server.host}:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Cookie: jf_session={session.value}\r\n\r\n"
        ).encode()
    )
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    writer.close()
    await writer.wait_closed()
    status, *lines = head.strip().split("\r\n")
    assert status.startswith("HTTP/1.1 101"), status
    fields = CIMultiDict[str]()
    for line in lines:
        name, value = line.split(": ", 1)
        fields.add(name, value)
    headers = CIMultiDictProxy(fields)
    assert_secured(headers, "/ws", "websocket handshake")


async def test_static_assets_may_be_cached_and_carry_the_other_headers(server: TestServer) -> None:
    async with TestClient(server) as anonymous:
        for path in ("/static/css/hall.css", "/static/js/http.js", "/favicon.ico"):
            resp = await anonymous.get(path)
            assert resp.status == 200, path
            assert_secured(resp.headers, path, path)


async def test_the_favicon_is_a_local_image_every_page_links(server: TestServer) -> None:
    async with TestClient(server) as anonymous:
        resp = await anonymous.get("/favicon.ico")
        assert resp.status == 200
        assert resp.content_type.startswith("image/"), resp.content_type
        assert (await resp.read()).startswith(b"\x00\x00\x01\x00")  # an ICO directory
        page = await (await anonymous.get("/login")).text()
        assert '<link rel="icon" href="/favicon.ico">' in page


async def test_evidence_downloads_keep_their_sandbox_policy(client_as: ClientFactory) -> None:
    terminal = await client_as("village-zhangzhuang")
    created = await terminal.post("/api/visit-requests", registration(), status=201)
    assert isinstance(created, dict)
    made = await upload(terminal, int(created["case_id"]), upload_form(png(), "photo.png"))
    officer = await client_as("officer-urban")
    resp = await officer.http.get(str(made["url"]))
    assert resp.status == 200
    csp = resp.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox") and "default-src 'none'" in csp, csp
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in resp.headers["Cache-Control"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in resp.headers["Permissions-Policy"]
    assert_no_server_version(resp.headers, "document download")
