"""HTML pages (zh-CN): login, terminal, reception console, case list and case page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp_jinja2
from aiohttp import web

from hall.accounts import users
from hall.accounts.tables import Role
from hall.cases import cases, documents, evaluation, legal_channels, states
from hall.cases.tables import CaseDocument
from hall.errors import Forbidden, HallError, InvalidInput, RateLimited, Unauthenticated
from web import keys
from web.auth import (
    ANY_USER,
    LOGIN_CSRF_COOKIE,
    PRINCIPAL,
    PUBLIC,
    SESSION_COOKIE,
    STAFF,
    add_route,
    check_csrf,
    login_csrf,
    principal,
    set_login_csrf,
    throttled,
)
from web.errors import CsrfFailed

FAVICON = Path(__file__).parent / "static" / "favicon.ico"
HOME = {
    Role.TERMINAL: "/terminal",
    Role.OFFICER: "/console",
    Role.LEADER: "/console",
    Role.DESK: "/desk",
    Role.DISPLAY: "/board",
}


def _context(request: web.Request, **extra: Any) -> dict[str, Any]:
    who = request.get(PRINCIPAL)
    return {"who": who, "csrf_token": who.csrf_token if who else "", **extra}


async def index(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    raise web.HTTPSeeOther(HOME.get(who.role, "/cases"))


def _login_form(
    request: web.Request, *, error: str, username: str, next_path: str, status: int = 200
) -> web.StreamResponse:
    token = login_csrf(request)
    response = aiohttp_jinja2.render_template(
        "login.html",
        request,
        {
            "error": error,
            "username": username,
            "next": next_path,
            "login_csrf": token,
            "username_max": users.USERNAME_MAX,
            "password_max": users.PASSWORD_MAX,
        },
        status=status,
    )
    set_login_csrf(request, response, token)
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    next_path = _safe_next(request.query.get("next", ""))
    return _login_form(request, error="", username="", next_path=next_path)


# A path of this site: printable ASCII without a backslash. Browsers drop tabs and newlines
# from a URL and read a backslash as a slash, so "/\t/evil.example" would lead off-site.
_LOCAL_PATH = re.compile(r"/[\x21-\x5b\x5d-\x7e]*")
NEXT_MAX = 2000


def _safe_next(target: str) -> str:
    """`target` if it leads to a page of this site, else "/" (an open redirect helps phishing):
    a local path, not `//host`, also once percent-decoded."""
    if len(target) > NEXT_MAX or not _LOCAL_PATH.fullmatch(target):
        return "/"
    parts = urlsplit(target)
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or path.startswith("//") or not _LOCAL_PATH.fullmatch(path):
        return "/"
    return target


async def login_submit(request: web.Request) -> web.StreamResponse:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie:
        raise CsrfFailed("登录页面已过期，请刷新后重试")
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    next_path = _safe_next(str(form.get("next", "")))
    try:
        # Before anything else: no throttle entry, no hashing, no echo of a huge name.
        users.check_login_fields(username, password)
    except InvalidInput as exc:
        return _login_form(request, error=exc.message, username="", next_path=next_path, status=422)
    await check_csrf(request, cookie)
    app = request.app
    try:
        async with (
            throttled(request, app[keys.THROTTLE], username, Unauthenticated),
            app[keys.DB].transaction() as session,
        ):
            user = await users.authenticate(session, username, password)
            token = await users.open_session(
                session,
                user,
                now=app[keys.CLOCK].now(),
                lifetime=timedelta(hours=app[keys.CONFIG].hall.session_hours),
            )
    except HallError as exc:
        response = _login_form(
            request,
            error=exc.message,
            username=username,
            next_path=next_path,
            status=429 if exc.code == "rate_limited" else 401,
        )
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    response = web.HTTPSeeOther(next_path)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=app[keys.CONFIG].web.secure_cookies,
        max_age=app[keys.CONFIG].hall.session_hours * 3600,
    )
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE, "")
    async with request.app[keys.DB].transaction() as session:
        await users.close_session(session, token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE)
    raise response


@aiohttp_jinja2.template("terminal.html")
async def terminal_page(request: web.Request) -> dict[str, Any]:
    return _context(request, max_document_bytes=request.app[keys.CONFIG].documents.max_bytes)


@aiohttp_jinja2.template("console.html")
async def console_page(request: web.Request) -> dict[str, Any]:
    return _context(request)


@aiohttp_jinja2.template("cases.html")
async def cases_page(request: web.Request) -> dict[str, Any]:
    async with request.app[keys.DB].reader() as session:
        rows = await cases.list_cases(session, principal(request))
    return _context(request, cases=rows)


def _allowed(request: web.Request, route: str) -> bool:
    """Whether the caller's role may use `route` (a route table key, `METHOD /path`)."""
    return principal(request).role in request.app[keys.POLICIES][route]


@aiohttp_jinja2.template("case.html")
async def case_page(request: web.Request) -> dict[str, Any]:
    case_id = int(request.match_info["case_id"])
    who = principal(request)
    async with request.app[keys.DB].reader() as session:
        view = await cases.case_view(session, who, case_id)
        try:
            papers: list[CaseDocument] | None = await documents.list_documents(
                session, who, case_id
            )
        except Forbidden:
            papers = None  # a department never sees the evidence of a 检举控告
    return _context(
        request,
        view=view,
        may_link=states.may_transition(who, view.case),
        # Panels whose data come from routes the reader's role may use (the route table says).
        may_transition=_allowed(request, "GET /api/cases/{case_id}/transitions"),
        may_read_deadlines=_allowed(request, "GET /api/cases/{case_id}/deadlines"),
        documents=papers,
        merged_numbers={c.id: c.number for c in view.merged_cases},
        may_upload=who.role in documents.STAFF_UPLOADERS,
        max_document_bytes=request.app[keys.CONFIG].documents.max_bytes,
        legal_channel_labels=legal_channels.LABELS,
        grade_labels=evaluation.GRADES,
        evaluation_channels=evaluation.CHANNEL_LABELS,
    )


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def favicon(request: web.Request) -> web.StreamResponse:
    """The hall's icon, where browsers and bookmarks look for it without a <link>."""
    return web.FileResponse(FAVICON)


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/", index, ANY_USER)
    add_route(app, "GET", "/healthz", healthz, PUBLIC)
    add_route(app, "GET", "/favicon.ico", favicon, PUBLIC)
    add_route(app, "GET", "/login", login_page, PUBLIC)
    add_route(app, "POST", "/login", login_submit, PUBLIC)
    add_route(app, "POST", "/logout", logout, ANY_USER)
    add_route(app, "GET", "/terminal", terminal_page, {"terminal"})
    add_route(app, "GET", "/console", console_page, {"officer", "leader"})
    add_route(app, "GET", "/cases", cases_page, STAFF | {"department"})
    add_route(app, "GET", "/cases/{case_id:\\d+}", case_page, STAFF | {"department"})
