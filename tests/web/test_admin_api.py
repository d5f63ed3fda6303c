"""Administration over HTTP: the calendar overrides unblock a 2027 case's deadlines, departments
and accounts are managed with coded errors, and only administrators get in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from hall.audit import AuditEntry
from hall.calendar import admin as calendar_admin
from hall.calendar.workdays import mark_year_complete, set_override
from hall.db import Database
from tests.conftest import ClientFactory
from tests.support import Client, MovableClock, login, registration, valid_id_number
from tests.web.test_auth import login_form_token
from web.app import create_app
from web.config import Config

# Tuesday 2027-01-26, 10:00 in the hall: a year the calendar package does not know.
JAN_26_2027 = datetime(2027, 1, 26, 2, 0, tzinfo=UTC)
NOTICE = "2027-01-01 holiday 元旦\n2027-02-05..2027-02-11 holiday 春节\n2027-02-20 workday 调休上班"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(JAN_26_2027)


@pytest.fixture
async def server(config: Config, clock: MovableClock) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(config, clock=clock))
    await srv.start_server()
    yield srv
    await srv.close()


def as_dict(data: object) -> dict[str, Any]:
    assert isinstance(data, dict)
    return data


async def error(client: Client, method: str, path: str, body: object, status: int) -> Any:
    return as_dict(await client.call(method, path, body, status=status))["error"]


async def register(desk: Client, n: int) -> int:
    body = registration(id_number=valid_id_number(f"41010219800101{n:03d}"), name=f"赵{n}")
    return int(as_dict(await desk.post("/api/visit-requests", body, status=201))["case_id"])


async def deadlines(client: Client, case_id: int) -> dict[str, Any]:
    return as_dict(await client.get(f"/api/cases/{case_id}/deadlines"))


async def test_bulk_entry_makes_a_2027_case_computable(client_as: ClientFactory) -> None:
    desk, admin = await client_as("desk"), await client_as("admin")
    case_id = await register(desk, 1)
    before = await deadlines(admin, case_id)
    assert before["deadline"]["error"] and "2027" in before["deadline"]["error"]
    status = as_dict(await admin.get("/api/admin/calendar?year=2027"))
    assert status["package_covers"] is False and status["overrides"] == []
    years = {y["year"]: y["coverage"] for y in status["years"]}
    assert years[2026] == "package" and years[2027] == "missing"

    body = {"text": NOTICE, "complete": True}  # 本年已完整录入
    done = as_dict(await admin.post("/api/admin/calendar/bulk", body, status=201))
    assert len(done["added"]) == 9
    assert done["recomputed"] == {"cases": [case_id], "fixed": 2, "remaining": 0}
    after = await deadlines(admin, case_id)
    assert after["deadline"]["error"] is None and after["deadline"]["date"] == "2027-02-12"
    assert [(d["rule"], d["date"], d["recomputed"]) for d in after["deadlines"]] == [
        ("accept", "2027-02-12", True),
        ("general_reply", "2027-02-16", True),
    ]
    status = as_dict(await admin.get("/api/admin/calendar?year=2027"))
    assert status["overrides"][0] == {
        "day": "2027-01-01",
        "kind": "holiday",
        "name": "元旦",
        "updated_at": JAN_26_2027.isoformat(),
    }
    assert {y["year"]: y["coverage"] for y in status["years"]}[2027] == "overrides"


async def test_bad_calendar_input_is_refused_with_a_code(client_as: ClientFactory) -> None:
    admin = await client_as("admin")
    base = "/api/admin/calendar"
    one = {"day": "2027-10-01", "kind": "holiday", "name": "国庆节"}
    bad = await error(admin, "POST", f"{base}/overrides", {**one, "day": "2027-02-30"}, 422)
    assert (bad["code"], list(bad["fields"])) == ("invalid_input", ["day"])
    bad = await error(admin, "POST", f"{base}/overrides", {**one, "kind": "vacation"}, 422)
    assert list(bad["fields"]) == ["kind"]
    bad = await error(admin, "POST", f"{base}/overrides", {**one, "extra": 1}, 422)
    assert "extra" in bad["fields"]
    bad = await error(admin, "POST", f"{base}/bulk", {"text": NOTICE + "\n2027-13-01 x"}, 422)
    assert list(bad["fields"]) == ["line 4"]
    await admin.post(f"{base}/overrides", one, status=201)
    dup = await error(admin, "POST", f"{base}/overrides", one, 409)
    assert dup["code"] == "conflict" and "2027-10-01" in dup["fields"]
    dup = await error(
        admin, "POST", f"{base}/bulk", {"text": NOTICE + "\n2027-10-01 holiday x"}, 409
    )
    assert dup["code"] == "conflict"
    covered = {"day": "2026-03-03", "kind": "holiday", "name": "三月三"}
    refused = await error(admin, "POST", f"{base}/overrides", covered, 409)
    assert refused["code"] == "calendar_covered"
    await admin.post(f"{base}/overrides", {**covered, "allow_covered": True}, status=201)
    assert (await error(admin, "GET", f"{base}?year=abc", None, 422))["code"] == "invalid_input"
    assert (await error(admin, "DELETE", f"{base}/overrides/2027-02-30", None, 422))["fields"]
    assert (await error(admin, "DELETE", f"{base}/overrides/2027-10-02", None, 404))["code"] == (
        "not_found"
    )
    assert as_dict(await admin.delete(f"{base}/overrides/2027-10-01")) == {"removed": "2027-10-01"}
    status = as_dict(await admin.get(f"{base}?year=2027"))
    assert status["overrides"] == []  # nothing half-written by the refused calls


async def test_a_year_counts_only_once_marked_complete(client_as: ClientFactory) -> None:
    """One day of 春节 entered: the 15 days end on that holiday, but 02-11 was 春节 too, so no
    date is fixed (it would have been 02-11) until the whole notice is in and marked complete."""
    desk, admin = await client_as("desk"), await client_as("admin")
    case_id = await register(desk, 2)
    base = "/api/admin/calendar"
    one = {"day": "2027-02-10", "kind": "holiday", "name": "春节"}
    done = as_dict(await admin.post(f"{base}/overrides", one, status=201))
    assert done["recomputed"] == {"cases": [], "fixed": 0, "remaining": 2}
    assert (await deadlines(admin, case_id))["deadline"]["error"]
    status = as_dict(await admin.get(f"{base}?year=2027"))
    assert {y["year"]: y["coverage"] for y in status["years"]}[2027] == "incomplete"
    rest = NOTICE.replace(
        "2027-02-05..2027-02-11 holiday 春节", "2027-02-05..2027-02-09 holiday 春节"
    )
    rest += "\n2027-02-11 holiday 春节"
    done = as_dict(await admin.post(f"{base}/bulk", {"text": rest}, status=201))
    assert done["recomputed"]["fixed"] == 0  # still not marked complete

    marked = as_dict(await admin.post(f"{base}/years/2027/complete"))
    assert marked == {"year": 2027, "recomputed": {"cases": [case_id], "fixed": 2, "remaining": 0}}
    shown = {d["rule"]: d["date"] for d in (await deadlines(admin, case_id))["deadlines"]}
    assert shown == {"accept": "2027-02-12", "general_reply": "2027-02-16"}
    again = await error(admin, "POST", f"{base}/years/2027/complete", None, 409)
    assert again["code"] == "conflict"
    covered = await error(admin, "POST", f"{base}/years/2026/complete", None, 409)
    assert covered["code"] == "calendar_covered"
    empty = await error(admin, "POST", f"{base}/years/2028/complete", None, 409)
    assert "尚未录入" in empty["message"]
    assert (await error(admin, "POST", f"{base}/years/1999/complete", None, 422))["fields"]
    assert (await error(admin, "POST", f"{base}/years/20x7/complete", None, 404))["code"]


async def test_the_recompute_button_fixes_days_entered_outside_the_page(
    client_as: ClientFactory, config: Config
) -> None:
    desk, admin = await client_as("desk"), await client_as("admin")
    case_id = await register(desk, 3)
    db = Database(config.hall.resolved_database_url())
    try:  # as `sqlite3` or a package upgrade would: no recompute happens by itself
        async with db.transaction() as session:
            for item in calendar_admin.parse_bulk(NOTICE):
                await set_override(
                    session,
                    day=item.day,
                    is_workday=item.is_workday,
                    note=item.name,
                    by=None,
                    now=JAN_26_2027,
                )
            await mark_year_complete(session, 2027, by=None, now=JAN_26_2027)
        assert (await deadlines(admin, case_id))["deadline"]["error"]
        done = as_dict(await admin.post("/api/admin/calendar/recompute"))
        assert done["recomputed"] == {"cases": [case_id], "fixed": 2, "remaining": 0}
        shown = {d["rule"]: d["date"] for d in (await deadlines(admin, case_id))["deadlines"]}
        assert shown == {"accept": "2027-02-12", "general_reply": "2027-02-16"}
        again = as_dict(await admin.post("/api/admin/calendar/recompute"))
        assert again["recomputed"]["fixed"] == 0
        me = as_dict(await admin.get("/api/me"))["id"]
        async with db.reader() as session:
            audits = list(
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.action == "deadlines_recomputed")
                    .order_by(AuditEntry.id)
                )
            )
    finally:
        await db.close()
    assert [(a.user_id, a.detail["cases"], a.detail["fixed"]) for a in audits] == [
        (me, [case_id], 2),
        (me, [], 0),
    ]


async def test_departments_are_created_renamed_and_deactivated(client_as: ClientFactory) -> None:
    admin, officer = await client_as("admin"), await client_as("officer-urban")
    base = "/api/admin/departments"
    made = as_dict(
        await admin.post(base, {"code": "jiaoyu", "name": "县教育局", "region": "本县"}, status=201)
    )
    assert made["active"] is True
    dup = await error(admin, "POST", base, {"code": "jiaoyu", "name": "另一个"}, 409)
    assert dup["code"] == "conflict"
    bad = await error(admin, "POST", base, {"code": "教育", "name": "x"}, 422)
    assert set(bad["fields"]) == {"code", "name"}
    renamed = as_dict(await admin.put(f"{base}/{made['id']}", {"name": "县教育体育局"}))
    # An omitted region keeps the stored one; an empty one clears it.
    assert (renamed["name"], renamed["region"]) == ("县教育体育局", "本县")
    cleared = as_dict(
        await admin.put(f"{base}/{made['id']}", {"name": "县教育体育局", "region": ""})
    )
    assert cleared["region"] == ""
    await error(admin, "PUT", f"{base}/999999", {"name": "某局"}, 404)
    await admin.post(f"{base}/{made['id']}/deactivate")
    again = await error(admin, "POST", f"{base}/{made['id']}/deactivate", None, 409)
    assert "停用" in again["message"]
    listed = as_dict(await officer.get("/api/departments"))["departments"]
    assert "jiaoyu" not in {d["code"] for d in listed}
    rows = as_dict(await admin.get(base))["departments"]
    assert {d["code"]: d["active"] for d in rows} == {
        "jiaoyu": False,
        "renshe": True,
        "zhujian": True,
    }
    await admin.post(f"{base}/{made['id']}/reactivate")
    listed = as_dict(await officer.get("/api/departments"))["departments"]
    assert "jiaoyu" in {d["code"] for d in listed}


async def test_accounts_are_created_reset_and_deactivated(
    server: TestServer, client_as: ClientFactory
) -> None:
    admin = await client_as("admin")
    base = "/api/admin/users"
    body = {
        "username": "renshe-wang",
        "display_name": "王经办",
        "role": "department",
        "password": "renshe-2026",
        "department": "renshe",
    }
    bad = await error(admin, "POST", base, {**body, "role": "officer", "password": "x"}, 422)
    assert set(bad["fields"]) == {"password", "lines", "department"}
    made = as_dict(await admin.post(base, body, status=201))
    assert (await error(admin, "POST", base, body, 409))["code"] == "conflict"
    listed = {u["username"]: u for u in as_dict(await admin.get(base))["users"]}
    assert listed["renshe-wang"]["department"] == "县人力资源和社会保障局"
    assert listed["officer-urban"]["lines"] == ["urban"]
    assert listed["village-zhangzhuang"]["village"] == "张庄村"

    http = TestClient(server)
    await http.start_server()
    try:
        wang = await login(http, "renshe-wang", "renshe-2026")
        assert as_dict(await wang.get("/api/me"))["role"] == "department"
        short = await error(admin, "POST", f"{base}/{made['id']}/password", {"password": "1"}, 422)
        assert list(short["fields"]) == ["password"]
        await admin.post(f"{base}/{made['id']}/password", {"password": "renshe-2027"})
        await wang.get("/api/me", status=401)  # the reset ended its session
        wang = await login(http, "renshe-wang", "renshe-2027")
        await admin.post(f"{base}/{made['id']}/deactivate")
        assert (await error(wang, "GET", "/api/me", None, 401))["code"] == "unauthenticated"
        form = {"username": "renshe-wang", "password": "renshe-2027"}
        form["csrf_token"] = await login_form_token(http)
        refused = await http.post("/login", data=form, allow_redirects=False)
        assert refused.status == 401 and "用户名或密码错误" in await refused.text()
    finally:
        await http.session.close()  # TestClient.close() would stop the shared server too
    me = as_dict(await admin.get("/api/me"))
    itself = await error(admin, "POST", f"{base}/{me['id']}/deactivate", None, 409)
    assert itself["message"] == "不能停用自己的账号"
    await error(admin, "POST", f"{base}/999999/reactivate", None, 404)
    await admin.post(f"{base}/{made['id']}/reactivate")


@pytest.mark.parametrize("username", ["supervisor", "officer-urban", "dept-zhujian"])
async def test_only_administrators_reach_the_admin_pages_and_api(
    client_as: ClientFactory, username: str
) -> None:
    other = await client_as(username)
    for path in ("/admin", "/admin/calendar", "/admin/departments", "/admin/users"):
        assert (await error(other, "GET", path, None, 403))["code"] == "forbidden"
    body = {"code": "x-y", "name": "某局"}
    assert (await error(other, "POST", "/api/admin/departments", body, 403))["code"] == "forbidden"


async def test_admin_writes_need_the_csrf_token(client_as: ClientFactory) -> None:
    admin = await client_as("admin")
    resp = await admin.http.post("/api/admin/calendar/recompute")
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "csrf_failed"
    for path in ("/admin", "/admin/calendar", "/admin/departments", "/admin/users"):
        page = await admin.http.get(path)
        assert page.status == 200 and "系统管理" in await page.text()
