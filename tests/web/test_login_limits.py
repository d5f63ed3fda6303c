"""The login's edge (issue 8): field caps before anything else, a `next` that only ever leads
back into the hall, and throttling that limits the guesser's address but only slows the
account, so an attacker cannot lock the real user out."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hall.accounts.users import PASSWORD_MAX, USERNAME_MAX
from hall.demo import DEMO_PASSWORD
from tests.support import HttpClient, behind_proxy
from tests.web.test_auth import login_form_token
from web import keys
from web.app import create_app
from web.config import Config

DELAY_MAX_S = 0.3


@pytest.fixture
def proxied(config: Config) -> Config:
    return behind_proxy(config, login_delay_max_s=DELAY_MAX_S)


@pytest.fixture
async def http(proxied: Config) -> AsyncIterator[HttpClient]:
    server = TestServer(create_app(proxied))
    async with TestClient(server) as client:
        yield client


async def attempt(
    http: HttpClient, username: str, password: str, address: str = "10.0.0.1", next_path: str = ""
) -> tuple[int, str, str]:
    """One login from `address`: (status, page text, Location)."""
    token = await login_form_token(http)
    resp = await http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        headers={"X-Forwarded-For": address},
        allow_redirects=False,
    )
    return resp.status, await resp.text(), resp.headers.get("Location", "")


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("a" * (USERNAME_MAX + 1), "jiefang-demo", f"用户名最长{USERNAME_MAX}个字符"),
        ("x" * 512 * 1024, "jiefang-demo", f"用户名最长{USERNAME_MAX}个字符"),
        ("desk", "p" * (PASSWORD_MAX + 1), f"密码最长{PASSWORD_MAX}个字符"),
    ],
)
async def test_an_overlong_field_is_refused_before_anything_else(
    server: TestServer, username: str, password: str, message: str
) -> None:
    async with TestClient(server) as http:
        # As the probe did: six failed logins first; the cap still answers before the throttle
        # is even asked, so nothing of the long name is kept.
        for i in range(6):
            await attempt(http, f"guess{i}", "guess-guess")
        entries = server.app[keys.THROTTLE].entries
        status, page, _ = await attempt(http, username, password)
        assert status == 422
        assert message in page
        assert "a" * (USERNAME_MAX + 1) not in page and "x" * 1000 not in page  # not echoed
        assert server.app[keys.THROTTLE].entries == entries


async def test_the_form_caps_its_fields(server: TestServer) -> None:
    async with TestClient(server) as http:
        page = await (await http.get("/login")).text()
    assert f'maxlength="{USERNAME_MAX}"' in page
    assert f'maxlength="{PASSWORD_MAX}"' in page


@pytest.mark.parametrize(
    "query",
    [
        "%2F%09%2Fevil.example%2Fx",
        "%2F%0A%2Fevil.example%2Fx",
        "%2F%0D%2Fevil.example%2Fx",
        "%2F%2Fevil.example%2Fx",
        "%2F%5Cevil.example%2Fx",
        "%2F%5C%5Cevil.example%2Fx",
        "https%3A%2F%2Fevil.example%2Fx",
        "%2F%252F%2Fevil.example%2Fx",
        "%2F%255Cevil.example%2Fx",
        "%20%2F%2Fevil.example%2Fx",
        "%2F%E3%80%80%2Fevil.example",
        "",
    ],
)
async def test_next_never_leaves_the_hall(http: HttpClient, query: str) -> None:
    page = await (await http.get(f"/login?next={query}")).text()
    assert 'name="next" value="/"' in page
    # A forged form posts the value itself.
    status, _, location = await attempt(http, "desk", DEMO_PASSWORD, next_path=unquote(query))
    assert (status, location) == (303, "/")


async def test_a_local_next_is_followed(http: HttpClient) -> None:
    page = await (await http.get("/login?next=%2Fcases%2F3%3Fx%3D1")).text()
    assert 'name="next" value="/cases/3?x=1"' in page
    status, _, location = await attempt(http, "desk", DEMO_PASSWORD, next_path="/cases/3?x=1")
    assert (status, location) == (303, "/cases/3?x=1")


async def test_an_attacker_cannot_lock_the_real_user_out(http: HttpClient) -> None:
    # Four addresses spend their tries on `leader`.
    for n in range(1, 5):
        for _ in range(5):
            status, _, _ = await attempt(http, "leader", "guess-guess", f"10.0.0.{n}")
            assert status == 401
    status, page, _ = await attempt(http, "leader", "guess-guess", "10.0.0.1")
    assert status == 429
    assert "登录失败次数过多" in page
    # The real leader, elsewhere, is slowed down but let in.
    started = time.monotonic()
    status, _, location = await attempt(http, "leader", DEMO_PASSWORD, "10.8.8.8")
    assert (status, location) == (303, "/")
    assert time.monotonic() - started >= DELAY_MAX_S


async def test_the_attackers_address_is_limited_across_accounts(
    http: HttpClient, proxied: Config
) -> None:
    limit = proxied.throttle.login_address_failures
    for i in range(limit):
        status, _, _ = await attempt(http, f"user{i}", "guess-guess", "10.0.0.1")
        assert status == 401
    token = await login_form_token(http)
    resp = await http.post(
        "/login",
        data={"username": "desk", "password": DEMO_PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-For": "10.0.0.1"},
        allow_redirects=False,
    )
    assert resp.status == 429
    assert 0 < int(resp.headers["Retry-After"]) <= proxied.throttle.login_window_s + 1
    assert "登录失败次数过多" in await resp.text()
    status, _, _ = await attempt(http, "desk", DEMO_PASSWORD, "10.0.0.2")
    assert status == 303
