"""Administration (系统管理, admin only): the calendar overrides (节假日调整表) with the recompute
of deadlines they unblock, responsible departments (责任单位) and accounts (账号) — zh-CN pages
and their JSON API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts import admin as account_admin
from hall.accounts import department_admin
from hall.accounts.tables import Department, Role, User
from hall.calendar import admin as calendar_admin
from hall.calendar.tables import CalendarOverride
from hall.cases.deadlines import Recomputed
from hall.errors import InvalidInput
from hall.queue.lines import LINES
from hall.settings import HALL_TZ
from web import keys, ws
from web.api import parse_body
from web.auth import PRINCIPAL, add_route, principal

ADMIN = frozenset({"admin"})
T = TypeVar("T")
ROLE_LABELS = {
    Role.TERMINAL: "村信息中心终端",
    Role.OFFICER: "接访人员",
    Role.DESK: "登记分流",
    Role.LEADER: "领导",
    Role.DEPARTMENT: "责任单位",
    Role.SUPERVISOR: "督查",
    Role.ADMIN: "管理员",
    Role.DISPLAY: "叫号屏",
}
COVERAGE_LABELS = {
    calendar_admin.Coverage.PACKAGE: "日历组件已包含",
    calendar_admin.Coverage.OVERRIDES: "已完整录入调整表",
    calendar_admin.Coverage.INCOMPLETE: "已录入部分，未标记完整",
    calendar_admin.Coverage.MISSING: "未覆盖，须录入",
}


class OverrideBody(BaseModel):
    """POST /api/admin/calendar/overrides."""

    model_config = ConfigDict(extra="forbid")
    day: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=400)
    allow_covered: bool = False


class BulkBody(BaseModel):
    """POST /api/admin/calendar/bulk."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=40_000)
    allow_covered: bool = False
    complete: bool = False  # 本年已完整录入: mark the years of the notice complete


class DepartmentBody(BaseModel):
    """PUT /api/admin/departments/{department_id}: an omitted region keeps the stored one."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    region: str | None = Field(default=None, max_length=200)
    aliases: list[Annotated[str, Field(max_length=200)]] | None = Field(default=None, max_length=20)


class NewDepartmentBody(BaseModel):
    """POST /api/admin/departments."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    region: str = Field(default="", max_length=200)
    aliases: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=20
    )


class AccountBody(BaseModel):
    """POST /api/admin/users."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=100)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    password: str = Field(max_length=200)
    lines: list[str] = Field(default_factory=list, max_length=7)
    terminal: str | None = Field(default=None, max_length=32)
    department: str | None = Field(default=None, max_length=32)


class PasswordBody(BaseModel):
    """POST /api/admin/users/{user_id}/password."""

    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=200)


def _context(request: web.Request, **extra: Any) -> dict[str, Any]:
    who = request[PRINCIPAL]
    return {"who": who, "csrf_token": who.csrf_token, **extra}


def _recomputed_json(done: Recomputed) -> dict[str, Any]:
    return {"cases": done.case_ids, "fixed": done.fixed, "remaining": done.remaining}


async def _write(
    request: web.Request,
    use_case: Callable[[AsyncSession, int, datetime], Awaitable[T]],
    to_json: Callable[[T], dict[str, Any]],
    *,
    status: int = 200,
) -> web.StreamResponse:
    """Run one administration use case in one transaction, as the caller, at the app's now."""
    app = request.app
    async with app[keys.DB].transaction() as session:
        row = await use_case(session, principal(request).user_id, app[keys.CLOCK].now())
        result = to_json(row)
    return web.json_response(result, status=status)


def _activation(
    set_active: Callable[..., Awaitable[T]], key: str, to_json: Callable[[T], dict[str, Any]]
) -> tuple[Handler, Handler]:
    """The deactivate (停用) and reactivate (启用) handlers of the object named by `{key}`."""

    def handler(active: bool) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            target = int(request.match_info[key])
            return await _write(
                request,
                lambda session, by, now: set_active(session, target, active=active, by=by, now=now),
                to_json,
            )

        return handle

    return handler(False), handler(True)


def _override_json(row: CalendarOverride) -> dict[str, Any]:
    return {
        "day": row.day.isoformat(),
        "kind": "workday" if row.is_workday else "holiday",
        "name": row.note,
        "updated_at": row.updated_at.isoformat(),
    }


# ---- calendar (节假日调整表) ----


def _today(request: web.Request) -> date:
    return request.app[keys.CLOCK].now().astimezone(HALL_TZ).date()


async def _calendar_state(request: web.Request) -> tuple[int, list[calendar_admin.YearStatus]]:
    """The year asked for (`?year=`, else the first one to enter) and every year's coverage."""
    async with request.app[keys.DB].reader() as session:
        years = await calendar_admin.years(session, _today(request))
    raw = request.query.get("year", "")
    if not raw:
        return calendar_admin.year_to_enter(years, _today(request)), years
    # isascii: str.isdigit() also holds for "²" and other digits int() refuses; the length
    # keeps int() from parsing thousands of digits.
    year_ok = raw.isascii() and raw.isdigit() and len(raw) == 4
    if not year_ok or not calendar_admin.YEAR_MIN <= int(raw) <= calendar_admin.YEAR_MAX:
        lo, hi = calendar_admin.YEAR_MIN, calendar_admin.YEAR_MAX
        raise InvalidInput("年份有误", fields={"year": f"{lo}–{hi}"})
    return int(raw), years


async def calendar_json(request: web.Request) -> web.StreamResponse:
    year, years = await _calendar_state(request)
    async with request.app[keys.DB].reader() as session:
        rows = await calendar_admin.overrides_of(session, year)
    return web.json_response(
        {
            "year": year,
            "package_covers": calendar_admin.package_covers(year),
            "years": [
                {
                    "year": y.year,
                    "coverage": y.coverage.value,
                    "coverage_label": COVERAGE_LABELS[y.coverage],
                    "holidays": y.holidays,
                    "workdays": y.workdays,
                }
                for y in years
            ],
            "overrides": [_override_json(r) for r in rows],
        }
    )


async def _recompute(
    request: web.Request, session: AsyncSession, by: int, now: datetime, reason: str
) -> dict[str, Any]:
    """Recompute the deadlines stored as errors (audited), inside the caller's transaction."""
    done = await calendar_admin.recompute(
        session,
        by=by,
        now=now,
        reason=reason,
        extend_over=request.app[keys.CONFIG].case.extend_rule,
    )
    return _recomputed_json(done)


async def _enter(
    request: web.Request,
    entries: list[calendar_admin.Entry],
    *,
    allow_covered: bool,
    complete: bool = False,
) -> web.StreamResponse:
    """Enter the days (and mark their years complete if asked) and recompute the deadlines that
    unblocks, in one transaction. Days of a year not marked complete unblock nothing yet."""
    app = request.app
    who, now = principal(request), app[keys.CLOCK].now()
    first = entries[0].day.isoformat() if entries else ""
    async with app[keys.DB].transaction() as session:
        rows = await calendar_admin.add_entries(
            session,
            entries,
            by=who.user_id,
            now=now,
            allow_covered=allow_covered,
            complete=complete,
        )
        reason = f"节假日调整表录入 {first} 等 {len(rows)} 天后重新计算"
        recomputed = await _recompute(request, session, who.user_id, now, reason)
        added = [_override_json(r) for r in rows]
    return web.json_response({"added": added, "recomputed": recomputed}, status=201)


async def add_override(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, OverrideBody)
    item = calendar_admin.entry(body.day, body.kind, body.name)
    return await _enter(request, [item], allow_covered=body.allow_covered)


async def add_bulk(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, BulkBody)
    entries = calendar_admin.parse_bulk(body.text)
    return await _enter(request, entries, allow_covered=body.allow_covered, complete=body.complete)


async def mark_year_complete(request: web.Request) -> web.StreamResponse:
    year = int(request.match_info["year"])

    async def use_case(session: AsyncSession, by: int, now: datetime) -> dict[str, Any]:
        await calendar_admin.mark_complete(session, year, by=by, now=now)
        reason = f"{year}年节假日标记为完整录入后重新计算"
        return {"year": year, "recomputed": await _recompute(request, session, by, now, reason)}

    return await _write(request, use_case, lambda result: result)


async def remove_override(request: web.Request) -> web.StreamResponse:
    try:
        day = calendar_admin.parse_day(request.match_info["day"])
    except ValueError as exc:
        raise InvalidInput(str(exc), fields={"day": str(exc)}) from None
    return await _write(
        request,
        lambda session, by, now: calendar_admin.remove_entry(session, day, by=by, now=now),
        lambda _: {"removed": day.isoformat()},
    )


async def recompute(request: web.Request) -> web.StreamResponse:
    async def use_case(session: AsyncSession, by: int, now: datetime) -> dict[str, Any]:
        return {"recomputed": await _recompute(request, session, by, now, "管理员重新计算期限")}

    return await _write(request, use_case, lambda result: result)


# ---- departments (责任单位) ----


def _department_json(d: Department, accounts: int = 0, open_cases: int = 0) -> dict[str, Any]:
    return {
        "id": d.id,
        "code": d.code,
        "name": d.name,
        "region": d.region,
        "aliases": d.aliases,
        "active": d.active,
        "accounts": accounts,
        "open_cases": open_cases,
    }


def _department_id(request: web.Request) -> int:
    return int(request.match_info["department_id"])


async def departments_json(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].reader() as session:
        rows = await department_admin.rows(session)
    return web.json_response(
        {"departments": [_department_json(r.department, r.accounts, r.open_cases) for r in rows]}
    )


async def create_department(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, NewDepartmentBody)
    return await _write(
        request,
        lambda session, by, now: department_admin.create(
            session,
            code=body.code,
            name=body.name,
            region=body.region,
            aliases=body.aliases,
            by=by,
            now=now,
        ),
        _department_json,
        status=201,
    )


async def rename_department(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, DepartmentBody)
    dept = _department_id(request)
    return await _write(
        request,
        lambda session, by, now: department_admin.rename(
            session,
            dept,
            name=body.name,
            region=body.region,
            aliases=body.aliases,
            by=by,
            now=now,
        ),
        _department_json,
    )


deactivate_department, reactivate_department = _activation(
    department_admin.set_active, "department_id", _department_json
)


# ---- accounts (账号) ----


def _user_id(request: web.Request) -> int:
    return int(request.match_info["user_id"])


async def users_json(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.DB].reader() as session:
        rows = await account_admin.rows(session)
    return web.json_response(
        {
            "users": [
                {
                    "id": r.user.id,
                    "username": r.user.username,
                    "display_name": r.user.display_name,
                    "role": r.user.role,
                    "role_label": ROLE_LABELS.get(Role(r.user.role), r.user.role),
                    "active": r.user.active,
                    "lines": r.lines,
                    "terminal": r.terminal,
                    "village": r.village,
                    "department": r.department,
                    "created_at": r.user.created_at.isoformat(),
                }
                for r in rows
            ]
        }
    )


def _account_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "active": user.active}


async def create_user(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, AccountBody)
    spec = account_admin.AccountSpec(
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
        lines=tuple(body.lines),
        terminal=body.terminal or None,
        department=body.department or None,
    )
    return await _write(
        request,
        lambda session, by, now: account_admin.create(session, spec, by=by, now=now),
        _account_json,
        status=201,
    )


async def reset_password(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, PasswordBody)
    user = _user_id(request)
    response = await _write(
        request,
        lambda session, by, now: account_admin.reset_password(
            session, user, body.password, by=by, now=now
        ),
        _account_json,
    )
    await ws.end_account(request.app, user)  # after the commit: its sessions are gone
    return response


_deactivate_user, reactivate_user = _activation(account_admin.set_active, "user_id", _account_json)


async def deactivate_user(request: web.Request) -> web.StreamResponse:
    response = await _deactivate_user(request)
    await ws.end_account(request.app, _user_id(request))  # after the commit
    return response


# ---- pages ----


@aiohttp_jinja2.template("admin/home.html")
async def home_page(request: web.Request) -> dict[str, Any]:
    return _context(request)


@aiohttp_jinja2.template("admin/calendar.html")
async def calendar_page(request: web.Request) -> dict[str, Any]:
    year, _ = await _calendar_state(request)
    return _context(request, year=year)


@aiohttp_jinja2.template("admin/departments.html")
async def departments_page(request: web.Request) -> dict[str, Any]:
    return _context(request)


@aiohttp_jinja2.template("admin/users.html")
async def users_page(request: web.Request) -> dict[str, Any]:
    async with request.app[keys.DB].reader() as session:
        terminals = await account_admin.terminals(session)
        departments = [
            (r.department.code, r.department.name)
            for r in await department_admin.rows(session)
            if r.department.active
        ]
    return _context(
        request,
        roles=ROLE_LABELS,
        lines=[(spec.code, spec.name) for spec in LINES],
        terminals=terminals,
        departments=departments,
    )


def setup(app: web.Application) -> None:
    cal = "/api/admin/calendar"
    dep = "/api/admin/departments"
    usr = "/api/admin/users"
    add_route(app, "GET", "/admin", home_page, ADMIN)
    add_route(app, "GET", "/admin/calendar", calendar_page, ADMIN)
    add_route(app, "GET", "/admin/departments", departments_page, ADMIN)
    add_route(app, "GET", "/admin/users", users_page, ADMIN)
    add_route(app, "GET", cal, calendar_json, ADMIN)
    add_route(app, "POST", f"{cal}/overrides", add_override, ADMIN)
    add_route(app, "POST", f"{cal}/bulk", add_bulk, ADMIN)
    add_route(app, "DELETE", f"{cal}/overrides/{{day}}", remove_override, ADMIN)
    add_route(app, "POST", f"{cal}/recompute", recompute, ADMIN)
    add_route(app, "POST", f"{cal}/years/{{year:\\d{{4}}}}/complete", mark_year_complete, ADMIN)
    add_route(app, "GET", dep, departments_json, ADMIN)
    add_route(app, "POST", dep, create_department, ADMIN)
    add_route(app, "PUT", f"{dep}/{{department_id:\\d+}}", rename_department, ADMIN)
    add_route(app, "POST", f"{dep}/{{department_id:\\d+}}/deactivate", deactivate_department, ADMIN)
    add_route(app, "POST", f"{dep}/{{department_id:\\d+}}/reactivate", reactivate_department, ADMIN)
    add_route(app, "GET", usr, users_json, ADMIN)
    add_route(app, "POST", usr, create_user, ADMIN)
    add_route(app, "POST", f"{usr}/{{user_id:\\d+}}/password", reset_password, ADMIN)
    add_route(app, "POST", f"{usr}/{{user_id:\\d+}}/deactivate", deactivate_user, ADMIN)
    add_route(app, "POST", f"{usr}/{{user_id:\\d+}}/reactivate", reactivate_user, ADMIN)
