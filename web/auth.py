"""Authentication and authorisation at the HTTP edge: session cookie, CSRF, role policy per route.

Every route is registered through `add_route` with the roles allowed on it (or PUBLIC); the
middleware refuses a request to a route without a policy, so no route can be left unchecked.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.typedefs import Handler

from hall.accounts.tables import Role
from hall.accounts.users import Principal, principal_for
from hall.errors import Forbidden, HallError, Unauthenticated
from hall.meetings.guests import principal_for_guest
from hall.throttle import Throttle
from web import keys
from web.errors import CsrfFailed

SESSION_COOKIE = "jf_session"
# The guest session of an external meeting invitee's link (role `guest`, no account).
GUEST_COOKIE = "jf_guest"
LOGIN_CSRF_COOKIE = "jf_login_csrf"
PUBLIC = frozenset({"public"})
# Every account role; a guest is not an account and reaches only the routes that name it.
ANY_USER = frozenset(r.value for r in Role if r != Role.GUEST)
GUEST = frozenset({Role.GUEST.value})
STAFF = frozenset({"officer", "desk", "leader", "supervisor", "admin"})
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
_SAFE = ("GET", "HEAD", "OPTIONS")
POLICY_REFUSAL = "当前角色无权访问"


def add_route(
    app: web.Application,
    method: str,
    path: str,
    handler: Handler,
    roles: Iterable[str],
    *,
    name: str | None = None,
) -> None:
    """Register a route together with the roles that may use it."""
    if method == "GET":
        # add_get also answers HEAD (monitors and proxies probe with it) under the GET's roles.
        route = app.router.add_get(path, handler, name=name)
    else:
        route = app.router.add_route(method, path, handler, name=name)
    assert route.resource is not None  # noqa: S101 - add_route always makes a resource
    app[keys.POLICIES][f"{method} {route.resource.canonical}"] = frozenset(roles)


def principal(request: web.Request) -> Principal:
    """The authenticated caller (the middleware guarantees one on non-public routes)."""
    if PRINCIPAL not in request:
        raise Unauthenticated("请先登录")
    return request[PRINCIPAL]


def _policy(request: web.Request) -> frozenset[str] | None:
    route = request.match_info.route
    resource = route.resource
    if resource is None:
        return None
    key = f"{route.method} {resource.canonical}"
    policies = request.app[keys.POLICIES]
    if key in policies:
        return policies[key]
    if route.method == "HEAD":
        return policies.get(f"GET {resource.canonical}")
    return None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the session's principal, enforce the route's role policy and CSRF."""
    token = request.cookies.get(SESSION_COOKIE)
    guest_token = request.cookies.get(GUEST_COOKIE)
    if token or guest_token:
        now = request.app[keys.CLOCK].now()
        async with request.app[keys.DB].reader() as session:
            who = None if not token else await principal_for(session, token, now=now)
            if who is None and guest_token:
                who = await principal_for_guest(session, guest_token, now=now)
        if who is not None:
            request[PRINCIPAL] = who
    if request.match_info.http_exception is not None:
        return await handler(request)
    policy = _policy(request)
    if policy is None:
        raise Forbidden("该路由未声明访问角色")
    if policy is PUBLIC or policy == PUBLIC:
        return await handler(request)
    who = principal(request)
    if who.role not in policy:
        raise Forbidden(POLICY_REFUSAL)
    if request.method not in _SAFE:
        await check_csrf(request, who.csrf_token)
    return await handler(request)


async def check_csrf(request: web.Request, expected: str) -> None:
    """The request must carry `expected` in X-CSRF-Token or a csrf_token form field.

    Only a urlencoded form is read for the field: a multipart body is an upload that its
    handler streams, so reading it here would buffer it; uploads send the header.
    """
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent and request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        value = form.get("csrf_token", "")
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("缺少或错误的CSRF令牌，请刷新页面后重试")


def client_address(request: web.Request) -> str:
    """The client's address: the peer, or the proxy's last X-Forwarded-For entry if trusted."""
    if request.app[keys.CONFIG].web.trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.remote or "?"


@asynccontextmanager
async def throttled(
    request: web.Request, throttle: Throttle, subject: str, failure: type[HallError]
) -> AsyncIterator[None]:
    """Guard a guess at `subject`'s secret from the caller's address: `rate_limited` while the
    address has no tries left, a wait while the subject is being guessed (before the block, so
    no transaction is held meanwhile); `failure` raised in the block counts as a wrong guess,
    getting through it as the right one."""
    address = client_address(request)
    delay = throttle.check(subject, address)
    if delay > 0:
        await asyncio.sleep(delay)
    try:
        yield
    except failure:
        throttle.failed(subject, address)
        raise
    throttle.succeeded(subject, address)


def login_csrf(request: web.Request) -> str:
    """The pre-login CSRF token (double-submit cookie): the client's, or a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """Send the pre-login CSRF cookie with the login form."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.app[keys.CONFIG].web.secure_cookies,
        path="/login",
    )
