"""The filtered case list, a case's deadlines, the printable notices (告知书) and their recorded
deliveries over HTTP, on a hall clock moved around the 2026 National Day holiday."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hall.accounts.tables import User
from hall.db import Database
from hall.queue.tables import Ticket
from hall.visits.tables import Visit
from tests.conftest import ClientFactory
from tests.support import Client, registration, valid_id_number
from web.app import create_app
from web.config import Config

NAME = "钱七"
PHONE = "13700002222"
NOTE = "内部研判：重点关注"


def local(month: int, day: int, hour: int = 10) -> datetime:
    """A time in the hall (UTC+8) in 2026, as UTC."""
    return datetime(2026, month, day, hour - 8, 0, tzinfo=UTC)


class MovableClock:
    """The hall's clock, set by the test."""

    def __init__(self) -> None:
        self.at = local(9, 28)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def server(config: Config, clock: MovableClock) -> AsyncIterator[TestServer]:
    # Sessions outlive the weeks the clock is moved over.
    long = replace(config, hall=replace(config.hall, session_hours=24 * 365))
    srv = TestServer(create_app(long, clock=clock))
    await srv.start_server()
    yield srv
    await srv.close()


async def file_case(desk: Client, n: int, line: str = "urban") -> int:
    body = registration(
        name=NAME, phone=PHONE, line=line, id_number=valid_id_number(f"41010219800101{n:03d}")
    )
    created = await desk.post("/api/visit-requests", body, status=201)
    assert isinstance(created, dict)
    return int(created["case_id"])


async def move(officer: Client, case_id: int, to: str, reason: str, **extra: object) -> None:
    await officer.post(f"/api/cases/{case_id}/transitions", {"to": to, "reason": reason, **extra})


async def accept(officer: Client, case_id: int) -> None:
    await move(officer, case_id, "triaged", "分流至城建")
    await move(officer, case_id, "accepted", "依法受理", classification="suggestion")


async def give_visit(config: Config, case_id: int, username: str) -> int:
    db = Database(config.hall.resolved_database_url())
    try:
        async with db.transaction() as session:
            user = await session.scalar(select(User).where(User.username == username))
            ticket = await session.scalar(select(Ticket).where(Ticket.case_id == case_id))
            assert user is not None and ticket is not None
            session.add(
                Visit(
                    ticket_id=ticket.id,
                    case_id=case_id,
                    officer_id=user.id,
                    state="ended",
                    started_at=local(9, 28, 11),
                    notes=NOTE,
                )
            )
            return user.id
    finally:
        await db.close()


async def numbers(client: Client, query: str) -> set[int]:
    data = await client.get(f"/api/cases{query}")
    assert isinstance(data, dict)
    return {row["id"] for row in data["cases"]}


async def test_case_list_filters(
    client_as: ClientFactory, clock: MovableClock, config: Config
) -> None:
    desk = await client_as("desk")
    officer = await client_as("officer-urban")
    clock.at = local(9, 28)
    late = await file_case(desk, 1)  # accept due 10-13: overdue on 10-14
    other_line = await file_case(desk, 2, line="legal")  # overdue too, another line
    accepted = await file_case(desk, 3)
    clock.at = local(9, 30)
    soon = await file_case(desk, 4)  # accept due 10-15: due soon on 10-14
    clock.at = local(10, 12)
    await accept(officer, accepted)  # handle due in December
    fresh = await file_case(desk, 5)
    owner = await give_visit(config, late, "officer-urban")
    clock.at = local(10, 14)
    supervisor = await client_as("supervisor")
    everything = {late, other_line, accepted, soon, fresh}
    table = [
        ("", everything),
        ("?line=urban", everything - {other_line}),
        ("?state=accepted", {accepted}),
        ("?overdue=true", {late, other_line}),
        ("?overdue=false", everything - {late, other_line}),
        ("?due_soon=true", {soon}),
        ("?due_from=2026-10-13&due_to=2026-10-15", {late, other_line, soon}),
        ("?due_from=2026-11-01", {accepted}),
        (f"?owner={owner}", {late}),
        ("?line=urban&overdue=true", {late}),
    ]
    for query, expected in table:
        assert await numbers(supervisor, query) == expected, query
    # Officers see their own lines only.
    assert await numbers(officer, "?overdue=true") == {late}
    row = (await supervisor.get("/api/cases?due_soon=true"))["cases"][0]  # type: ignore[index]
    assert row["deadline"]["rule"] == "accept"
    assert row["deadline"]["date"] == "2026-10-15"
    assert "15 calendar days" in row["deadline"]["text"]


@pytest.mark.parametrize(
    "query",
    [
        "?state=sleeping",
        "?line=moon",
        "?overdue=perhaps",
        "?due_from=2026-13-01",
        "?due_from=2026-10-02&due_to=2026-10-01",
        "?limit=0",
        "?colour=red",
    ],
)
async def test_bad_list_filters_are_422(client_as: ClientFactory, query: str) -> None:
    supervisor = await client_as("supervisor")
    data = await supervisor.get(f"/api/cases{query}", status=422)
    assert isinstance(data, dict)
    assert data["error"]["code"] == "invalid_input"


async def test_case_list_and_notice_roles(client_as: ClientFactory) -> None:
    desk = await client_as("desk")
    case_id = await file_case(desk, 1)
    officer = await client_as("officer-urban")
    await accept(officer, case_id)
    terminal = await client_as("village-zhangzhuang")
    await terminal.get("/api/cases", status=403)
    department = await client_as("dept-zhujian")
    await department.get("/api/cases", status=403)
    await department.get(f"/api/cases/{case_id}/deadlines", status=403)
    resp = await terminal.http.get(f"/cases/{case_id}/notices/acceptance")
    assert resp.status == 403
    foreign = await client_as("officer-legal")
    resp = await foreign.http.get(f"/cases/{case_id}/notices/acceptance")
    assert resp.status == 403
    path = f"/api/cases/{case_id}/notices/acceptance/deliveries"
    await foreign.post(path, {"method": "当面"}, status=403)
    await desk.post(path, {"method": "当面"}, status=403)  # desk reads notices, records nothing
    resp = await desk.http.get(f"/cases/{case_id}/notices/acceptance")
    assert resp.status == 200


async def test_notices_state_their_facts_and_nothing_private(
    client_as: ClientFactory, clock: MovableClock, config: Config
) -> None:
    desk = await client_as("desk")
    officer = await client_as("officer-urban")
    case_id = await file_case(desk, 1)
    await give_visit(config, case_id, "officer-urban")
    page = await officer.http.get(f"/cases/{case_id}/notices/acceptance")
    assert page.status == 409  # not accepted yet
    clock.at = local(10, 12)
    await accept(officer, case_id)
    accepted = await (await officer.http.get(f"/cases/{case_id}/notices/acceptance")).text()
    assert "信访事项受理告知书" in accepted
    assert NAME in accepted and "2026年10月12日" in accepted
    assert '<dd id="handle-due">2026-12-11</dd>' in accepted
    # The print layout is a static style sheet (the content security policy refuses inline ones).
    assert '<link rel="stylesheet" href="/static/css/notice.css">' in accepted
    assert "@media print" in await (await officer.http.get("/static/css/notice.css")).text()
    clock.at = local(10, 20)
    await move(officer, case_id, "in_progress", "开始办理")
    await move(officer, case_id, "in_progress", "需现场勘验", extension_days=20)
    extended = await (await officer.http.get(f"/cases/{case_id}/notices/extension")).text()
    assert "需现场勘验" in extended and '<dd id="extension-due">2026-12-31</dd>' in extended
    clock.at = local(11, 2)
    await move(officer, case_id, "responded", "经核查，已协调解决", outcome="support")
    decided = await (await officer.http.get(f"/cases/{case_id}/notices/decision")).text()
    assert '<span id="outcome">支持</span>' in decided
    assert "经核查，已协调解决" in decided and '<span id="review-due">2026-12-02</span>' in decided
    for html in (accepted, extended, decided):
        assert PHONE not in html and NOTE not in html
        assert valid_id_number("41010219800101001") not in html
        assert "分流至城建" not in html  # a staff-only step's reason
    resp = await officer.http.get(f"/cases/{case_id}/notices/not_accepted")
    assert resp.status == 409
    resp = await officer.http.get(f"/cases/{case_id}/notices/apology")
    assert resp.status == 404


@pytest.mark.parametrize(
    ("to", "channel", "label", "advice"),
    [
        ("not_accepted", "labour_arbitration", "劳动人事争议仲裁", "不属于本机关受理范围"),
        ("redirected", "litigation", "诉讼", "应当通过上述法定途径解决"),
    ],
)
async def test_not_accepted_notice_names_ground_and_channel(
    client_as: ClientFactory, to: str, channel: str, label: str, advice: str
) -> None:
    desk = await client_as("desk")
    officer = await client_as("officer-urban")
    case_id = await file_case(desk, 1)
    await move(officer, case_id, "triaged", "分流")
    await move(officer, case_id, to, "该事项已进入诉讼程序", legal_channel=channel)
    html = await (await officer.http.get(f"/cases/{case_id}/notices/not_accepted")).text()
    assert '<span id="ground">该事项已进入诉讼程序</span>' in html
    assert f'<span id="channel">{label}</span>' in html
    assert advice in html
    assert PHONE not in html


async def test_deliveries_are_recorded_with_timeline_events(
    client_as: ClientFactory, clock: MovableClock
) -> None:
    desk = await client_as("desk")
    officer = await client_as("officer-urban")
    case_id = await file_case(desk, 1)
    path = f"/api/cases/{case_id}/notices/acceptance/deliveries"
    refused = await officer.post(path, {"method": "当面"}, status=409)
    assert isinstance(refused, dict) and "当前状态为 registered" in refused["error"]["message"]
    clock.at = local(10, 12)
    await accept(officer, case_id)
    bad = await officer.post(path, {"method": "飞鸽"}, status=422)
    assert isinstance(bad, dict) and "method" in bad["error"]["fields"]
    await officer.post(path, {"method": "邮寄", "delivered_at": "2027-01-01T00:00:00Z"}, status=422)
    await officer.post(path, {}, status=422)
    done = await officer.post(path, {"method": "当面"}, status=201)
    assert isinstance(done, dict)
    assert (done["method"], done["kind"], done["by"]) == ("当面", "acceptance", "城建接访员")
    await officer.post(
        path, {"method": "邮寄", "delivered_at": "2026-10-11T03:00:00+00:00"}, status=201
    )
    info = await officer.get(f"/api/cases/{case_id}/deadlines")
    assert isinstance(info, dict)
    assert [d["method"] for d in info["deliveries"]] == ["邮寄", "当面"]
    assert [n["kind"] for n in info["notices"]] == ["acceptance"]
    assert [d["rule"] for d in info["deadlines"]] == ["accept", "general_reply", "handle"]
    assert info["deadline"]["rule"] == "handle" and not info["overdue"]
    case = await officer.get(f"/api/cases/{case_id}")
    assert isinstance(case, dict)
    kinds = [e["kind"] for e in case["events"]]
    assert kinds.count("notice_delivered") == 2


async def test_an_uncomputable_deadline_is_listed_as_an_error(
    client_as: ClientFactory, clock: MovableClock
) -> None:
    desk = await client_as("desk")
    clock.at = local(12, 28)  # both receipt periods end in 2027, not in the calendar yet
    case_id = await file_case(desk, 1)
    supervisor = await client_as("supervisor")
    data = await supervisor.get("/api/cases")
    assert isinstance(data, dict)
    (row,) = data["cases"]
    assert row["id"] == case_id
    assert row["deadline"]["date"] is None
    assert "2027" in row["deadline"]["error"]
    assert (row["overdue"], row["due_soon"]) == (False, False)
    info = await supervisor.get(f"/api/cases/{case_id}/deadlines")
    assert isinstance(info, dict)
    assert all(d["error"] for d in info["deadlines"])
