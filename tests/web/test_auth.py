"""Login, sessions, CSRF, throttling and the role policy of every route."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import ClientFactory
from tests.support import Client, HttpClient
from web import keys
from web.auth import POLICY_REFUSAL, PUBLIC
from web.config import Config


async def login_form_token(http: HttpClient) -> str:
    page = await http.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert found is not None
    return found.group(1)


async def test_wrong_password_is_refused_with_the_same_message(server: TestServer) -> None:
    async with TestClient(server) as http:
        token = await login_form_token(http)
        for username in ("officer-urban", "nobody"):
            resp = await http.post(
                "/login",
                data={"username": username, "password": "wrong-pass", "csrf_token": token},
                allow_redirects=False,
            )
            assert resp.status == 401
            assert "用户名或密码错误" in await resp.text()
        assert "jf_session" not in {c.key for c in http.session.cookie_jar}


async def test_login_without_csrf_token_is_refused(server: TestServer) -> None:
    async with TestClient(server) as http:
        await http.get("/login")
        resp = await http.post(
            "/login", data={"username": "desk", "password": "jiefang-demo", "csrf_token": "forged"}
        )
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "csrf_failed"


async def test_login_sets_httponly_samesite_cookie_and_redirects_by_role(
    server: TestServer,
) -> None:
    async with TestClient(server) as http:
        token = await login_form_token(http)
        resp = await http.post(
            "/login",
            data={"username": "officer-urban", "password": "jiefang-demo", "csrf_token": token},
            allow_redirects=False,
        )
        assert resp.status == 303
        cookie = resp.cookies["jf_session"]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        home = await http.get("/", allow_redirects=False)
        assert home.headers["Location"] == "/console"


async def test_repeated_failures_are_throttled(server: TestServer) -> None:
    async with TestClient(server) as http:
        token = await login_form_token(http)
        statuses = []
        for _ in range(7):
            resp = await http.post(
                "/login",
                data={"username": "desk", "password": "guess-guess", "csrf_token": token},
            )
            statuses.append(resp.status)
        assert statuses[:5] == [401] * 5
        assert statuses[5:] == [429, 429]
        # Even the right password waits out the window.
        resp = await http.post(
            "/login", data={"username": "desk", "password": "jiefang-demo", "csrf_token": token}
        )
        assert resp.status == 429


async def test_logout_ends_the_session(client_as: ClientFactory) -> None:
    desk = await client_as("desk")
    resp = await desk.http.post("/logout", data={"csrf_token": desk.csrf}, allow_redirects=False)
    assert resp.status == 303
    again = await desk.http.get("/api/me")
    assert again.status == 401


async def test_state_changing_call_without_csrf_header_is_refused(
    client_as: ClientFactory,
) -> None:
    officer = await client_as("officer-urban")
    resp = await officer.http.post("/api/queue/call-next")
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "csrf_failed"


async def test_every_route_declares_its_roles(server: TestServer) -> None:
    policies = server.app[keys.POLICIES]
    for route in server.app.router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        assert f"{route.method} {route.resource.canonical}" in policies, route


ROLE_USERS = {
    "terminal": "village-zhangzhuang",
    "officer": "officer-urban",
    "desk": "desk",
    "leader": "leader",
    "supervisor": "supervisor",
    "admin": "admin",
    "department": "dept-zhujian",
}


async def guest_client(server: TestServer, client_as: ClientFactory) -> tuple[HttpClient, Client]:
    """A browser that opened an external invitee's link (a guest session), as a `Client`."""
    leader = await client_as("leader")
    me = await leader.get("/api/me")
    assert isinstance(me, dict)
    meeting = await leader.post(
        "/api/meetings",
        {
            "kind": "joint",
            "title": "七条线联席会议",
            "starts_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "duration_min": 60,
            "host_id": me["id"],
            "invitees": [{"sort": "external", "name": "王律师", "external_role": "lawyer"}],
        },
        status=201,
    )
    assert isinstance(meeting, dict)
    link = meeting["invitations"][0]["link"]
    http = TestClient(server)
    await http.start_server()
    page = await http.get(re.sub(r"^https?://[^/]+", "", link))
    found = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert page.status == 200 and found is not None
    return http, Client(http=http, csrf=found.group(1), username="guest")


async def test_role_matrix_on_every_route(server: TestServer, client_as: ClientFactory) -> None:
    """Each role gets 403 exactly on the routes whose policy leaves it out; anonymous gets 401.
    A guest (an external invitee's link) is refused everything but its meeting's routes."""
    policies = server.app[keys.POLICIES]
    clients = {role: await client_as(username) for role, username in ROLE_USERS.items()}
    guest_http, clients["guest"] = await guest_client(server, client_as)
    concrete = {
        "{case_id}": "1",
        "{ticket_id}": "1",
        "{visit_id}": "1",
        "{petitioner_id}": "1",
        "{recording_id}": "1",
        "{code}": "urban",
        "{supervision_id}": "1",
        "{kind}": "acceptance",
        "{document_id}": "1",
        # No such day, department or account: the admin's calls change nothing (404).
        "{day}": "2099-01-01",
        "{year}": "2099",
        "{department_id}": "999999",
        "{user_id}": "999999",
        # No such meeting: nothing is scheduled, cancelled or ended by the walk (404).
        "{meeting_id}": "999999",
        "{invitation_id}": "999999",
        "{participant_id}": "999999",
        "{room_id}": "999999",
        "{decision_id}": "999999",
    }
    checked = 0
    async with TestClient(server) as anonymous:
        for key, roles in policies.items():
            method, path = key.split(" ", 1)
            if roles == PUBLIC or path in ("/ws", "/static", "/logout"):
                continue
            for placeholder, value in concrete.items():
                path = path.replace(placeholder, value)
            resp = await anonymous.request(method, path, headers={"Accept": "application/json"})
            assert resp.status == 401, (key, resp.status)
            for role, client in clients.items():
                resp = await client.http.request(
                    method,
                    path,
                    json={},
                    headers={"X-CSRF-Token": client.csrf, "Accept": "application/json"},
                    allow_redirects=False,
                )
                refused_by_policy = resp.status == 403 and (
                    (await resp.json())["error"]["message"] == POLICY_REFUSAL
                )
                assert refused_by_policy == (role not in roles), (key, role, resp.status)
                checked += 1
    await guest_http.session.close()
    assert checked > 60


async def test_login_without_the_csrf_cookie_is_refused(server: TestServer) -> None:
    async with TestClient(server) as http:
        resp = await http.post(
            "/login", data={"username": "desk", "password": "jiefang-demo", "csrf_token": "-"}
        )
        assert resp.status == 403
        assert "jf_session" not in {c.key for c in http.session.cookie_jar}


async def test_throttled_login_says_when_to_retry(server: TestServer) -> None:
    async with TestClient(server) as http:
        token = await login_form_token(http)
        for _ in range(6):
            resp = await http.post(
                "/login", data={"username": "desk", "password": "guess-guess", "csrf_token": token}
            )
        assert resp.status == 429
        assert 0 < int(resp.headers["Retry-After"]) <= 301


async def test_forwarded_address_is_used_only_when_trusted(
    server: TestServer, config: Config
) -> None:
    """Without trust, a spoofed X-Forwarded-For cannot dodge the per-address limit."""
    limit = config.throttle.login_address_failures
    async with TestClient(server) as http:
        token = await login_form_token(http)
        statuses = []
        for i in range(limit + 1):
            resp = await http.post(
                "/login",
                data={"username": f"user{i}", "password": "guess-guess", "csrf_token": token},
                headers={"X-Forwarded-For": f"10.9.9.{i}"},
            )
            statuses.append(resp.status)
        assert statuses == [401] * limit + [429]


async def test_head_is_answered_as_get_without_a_body(client_as: ClientFactory) -> None:
    # Monitors and proxies probe with HEAD; a GET route answers it (it was 405 before).
    anonymous = (await client_as("desk")).http
    for path in ("/healthz", "/login"):
        resp = await anonymous.head(path, allow_redirects=False)
        assert resp.status == 200, path
        assert await resp.read() == b""
    officer = await client_as("officer-urban")
    resp = await officer.http.head("/console")
    assert resp.status == 200
    resp = await officer.http.head("/desk")
    assert resp.status == 403  # the GET route's roles hold for HEAD too
