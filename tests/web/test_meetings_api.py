"""Meetings through the real app: scheduling and its roles, external links (expired on the app
clock, revoked, tampered, opened by a second browser at once), the lobby (admit, deny, admit
all, seat-hold rejoin, removed and blocked), host controls by a non-host, an ended meeting,
minutes into the case timeline, decisions lists."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from hall.accounts.tables import Department
from hall.cases import timeline
from hall.cases.tables import CaseEvent
from tests.conftest import ClientFactory
from tests.support import T0, Client, HttpClient, MovableClock, registration, valid_id_number
from web import keys
from web.app import create_app
from web.config import Config

START = T0 + timedelta(hours=1)
_cases: list[int] = []


@asynccontextmanager
async def browsers(server: TestServer, count: int) -> AsyncIterator[list[HttpClient]]:
    """Anonymous browsers (own cookie jars) on the running server, which they leave running."""
    https = [TestClient(server) for _ in range(count)]
    try:
        for http in https:
            await http.start_server()
        yield https
    finally:
        for http in https:
            await http.session.close()


async def case_events(server: TestServer, case_id: int) -> list[CaseEvent]:
    async with server.app[keys.DB].reader() as session:
        return await timeline.events_of(session, case_id)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


@pytest.fixture
async def server(config: Config, clock: MovableClock) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(config, clock=clock))
    await srv.start_server()
    yield srv
    await srv.close()


async def me(client: Client) -> dict[str, Any]:
    data = await client.get("/api/me")
    assert isinstance(data, dict)
    return data


async def department_id(server: TestServer, code: str = "zhujian") -> int:
    async with server.app[keys.DB].reader() as session:
        found = await session.scalar(select(Department.id).where(Department.code == code))
    assert found is not None
    return found


async def terminal_case(client_as: ClientFactory) -> int:
    """A case registered by a village terminal on the urban line."""
    terminal = await client_as("village-zhangzhuang")
    _cases.append(len(_cases) + 1)
    n = _cases[-1]
    body = registration(
        name=f"孙{n}",
        id_number=valid_id_number(f"33010219800101{n:03d}"),
        summary=f"第{n}件：道路施工扰民",
    )
    made = await terminal.post("/api/visit-requests", body, status=201)
    assert isinstance(made, dict)
    return int(made["case_id"])


def meeting_body(host_id: int, case_id: int | None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "coordination",
        "title": "宅基地纠纷协调会",
        "case_id": case_id,
        "starts_at": START.isoformat(),
        "duration_min": 60,
        "host_id": host_id,
        "agenda": "一、听取信访人诉求\n二、各部门说明",
        "invitees": [],
    }
    body.update(overrides)
    return body


LAWYER = {
    "sort": "external",
    "name": "王律师",
    "organisation": "某律师事务所",
    "external_role": "lawyer",
}


async def scheduled(
    client_as: ClientFactory, server: TestServer, **overrides: Any
) -> dict[str, Any]:
    """A coordination meeting on a terminal's case, hosted by officer-urban, inviting the
    department zhujian, the petitioner's station, the leader and a lawyer (external)."""
    case_id = await terminal_case(client_as)
    officer = await client_as("officer-urban")
    leader = await me(await client_as("leader"))
    officer_id = (await me(officer))["id"]
    body = meeting_body(
        officer_id,
        case_id,
        invitees=[
            {"sort": "department", "department_id": await department_id(server)},
            {"sort": "terminal"},
            {"sort": "user", "user_id": leader["id"], "role": "observer"},
            LAWYER,
        ],
    )
    body.update(overrides)
    made = await officer.post("/api/meetings", body, status=201)
    assert isinstance(made, dict)
    return made


def link_of(meeting: dict[str, Any]) -> str:
    (external,) = [i for i in meeting["invitations"] if i["sort"] == "external"]
    assert external["link"], external
    return str(re.sub(r"^https?://[^/]+", "", external["link"]))


async def test_officer_schedules_for_a_case_of_its_line_only(
    client_as: ClientFactory, server: TestServer
) -> None:
    meeting = await scheduled(client_as, server)
    assert meeting["state"] == "scheduled"
    sorts = sorted(i["sort"] for i in meeting["invitations"])
    assert sorts == ["department", "external", "terminal", "user"]
    other = await client_as("officer-legal")
    body = meeting_body((await me(other))["id"], meeting["case_id"])
    refused = await other.post("/api/meetings", body, status=403)
    assert refused["error"]["code"] == "forbidden"  # type: ignore[index]
    # No case: only the joint meeting, by a leader or supervisor.
    supervisor = await client_as("supervisor")
    host = (await me(supervisor))["id"]
    bad = await supervisor.post("/api/meetings", meeting_body(host, None), status=422)
    assert "case_id" in bad["error"]["fields"]  # type: ignore[index]
    joint = await supervisor.post(
        "/api/meetings", meeting_body(host, None, kind="joint", title="七条线联席会议"), status=201
    )
    assert joint["case_id"] is None  # type: ignore[index]
    desk = await client_as("desk")
    await desk.post("/api/meetings", meeting_body(host, None, kind="joint"), status=403)


async def test_bad_schedules_name_their_fields(
    client_as: ClientFactory, server: TestServer
) -> None:
    leader = await client_as("leader")
    terminal_user = await me(await client_as("village-zhangzhuang"))
    body = meeting_body(
        terminal_user["id"],
        None,
        kind="joint",
        duration_min=1,
        starts_at=(T0 - timedelta(days=1)).isoformat(),
        invitees=[
            {"sort": "external", "name": "", "external_role": "lawyer"},
            {"sort": "terminal"},
        ],
    )
    bad = await leader.post("/api/meetings", body, status=422)
    fields = bad["error"]["fields"]  # type: ignore[index]
    assert set(fields) == {"host_id", "duration_min", "starts_at", "invitees.0", "invitees.1"}


async def test_edit_and_cancel_before_the_start_only(
    client_as: ClientFactory, server: TestServer, clock: MovableClock
) -> None:
    meeting = await scheduled(client_as, server)
    officer = await client_as("officer-urban")
    path = f"/api/meetings/{meeting['id']}"
    body = meeting_body(
        meeting["host_id"], meeting["case_id"], title="改期后的协调会", invitees=[LAWYER]
    )
    edited = await officer.put(path, body)
    assert edited["title"] == "改期后的协调会"  # type: ignore[index]
    # The lawyer kept its invitation, and so its link.
    assert link_of(edited) == link_of(meeting)  # type: ignore[arg-type]
    dept = await client_as("dept-zhujian")
    await dept.put(path, body, status=403)
    await officer.post(path + "/join")
    refused = await officer.put(path, body, status=409)
    assert refused["error"]["code"] == "conflict"  # type: ignore[index]
    await officer.post(path + "/cancel", status=409)


async def test_link_gives_a_guest_session_bound_to_its_meeting(
    client_as: ClientFactory, server: TestServer
) -> None:
    meeting = await scheduled(client_as, server)
    async with browsers(server, 1) as (guest,):
        page = await guest.get(link_of(meeting))
        assert page.status == 200
        assert "宅基地纠纷协调会" in await page.text()
        assert "jf_guest" in {c.key for c in guest.session.cookie_jar}
        seen = await guest.get(f"/api/meetings/{meeting['id']}")
        assert seen.status == 200
        assert all("link" not in i for i in (await seen.json())["invitations"])
        # Nothing else of the hall: not the case, not the lists, not another meeting.
        for path in ("/api/cases/1", "/api/me", "/api/my/meetings", "/cases", "/api/lines"):
            resp = await guest.get(path, headers={"Accept": "application/json"})
            assert resp.status == 403, path
        other = await scheduled(client_as, server)
        resp = await guest.get(f"/api/meetings/{other['id']}")
        assert resp.status == 404


async def test_link_states_each_get_a_clear_page(
    client_as: ClientFactory, server: TestServer, clock: MovableClock
) -> None:
    meeting = await scheduled(client_as, server)
    link = link_of(meeting)
    async with browsers(server, 2) as (first, second):
        assert (await first.get(link)).status == 200
        busy = await second.get(link)
        assert busy.status == 409
        assert "另一台设备" in await busy.text()
        # The first browser reopens its own link freely.
        assert (await first.get(link)).status == 200
        tampered = await second.get(link[:-3] + ("abc" if not link.endswith("abc") else "xyz"))
        assert tampered.status == 404
        assert "链接无效" in await tampered.text()
        # After the first browser's claim went idle, another may take the link over.
        clock.at = T0 + timedelta(minutes=5)
        assert (await second.get(link)).status == 200
        gone = await first.get(f"/api/meetings/{meeting['id']}/me")
        assert gone.status == 401
    officer = await client_as("officer-urban")
    (external,) = [i for i in meeting["invitations"] if i["sort"] == "external"]
    base = f"/api/meetings/{meeting['id']}/invitations/{external['id']}"
    await officer.post(base + "/revoke")
    async with browsers(server, 1) as (third,):
        revoked = await third.get(link)
        assert revoked.status == 410
        assert "撤销" in await revoked.text()
        fresh = await officer.post(base + "/link")
        new_link = re.sub(r"^https?://[^/]+", "", fresh["link"])  # type: ignore[index]
        assert new_link != link
        assert (await third.get(new_link)).status == 200
        clock.at = START + timedelta(minutes=60 + 121)
        expired = await third.get(new_link)
        assert expired.status == 410
        assert "过期" in await expired.text()


async def test_lobby_admit_deny_admit_all_and_seat_hold(
    client_as: ClientFactory, server: TestServer, clock: MovableClock
) -> None:
    meeting = await scheduled(client_as, server)
    path = f"/api/meetings/{meeting['id']}"
    host = await client_as("officer-urban")
    dept = await client_as("dept-zhujian")
    terminal = await client_as("village-zhangzhuang")
    leader = await client_as("leader")
    waiting = await dept.post(path + "/join")
    assert waiting["state"] == "waiting"  # type: ignore[index]
    opened = await host.post(path + "/join")
    assert opened["state"] == "admitted"  # type: ignore[index]
    state = await host.get(path)
    assert state["state"] == "live"  # type: ignore[index]
    assert [w["id"] for w in state["waiting"]] == [waiting["id"]]  # type: ignore[index]
    assert state["waiting"][0]["since"] == T0.isoformat()  # type: ignore[index]
    await host.post(f"{path}/participants/{waiting['id']}/admit")  # type: ignore[index]
    t = await terminal.post(path + "/join")
    await host.post(f"{path}/participants/{t['id']}/deny", {"message": "请稍候，先由部门说明"})  # type: ignore[index]
    mine = await terminal.get(path + "/me")
    assert mine["participant"]["state"] == "denied"  # type: ignore[index]
    assert mine["participant"]["message"] == "请稍候，先由部门说明"  # type: ignore[index]
    await terminal.post(path + "/join")
    await leader.post(path + "/join")
    admitted = await host.post(path + "/lobby/admit-all")
    assert len(admitted["admitted"]) == 2  # type: ignore[index]
    # A drop and a rejoin within the seat hold: straight back in; later: the lobby again.
    await dept.post(path + "/leave")
    clock.at = T0 + timedelta(seconds=60)
    assert (await dept.post(path + "/join"))["state"] == "admitted"  # type: ignore[index]
    await dept.post(path + "/leave")
    clock.at = T0 + timedelta(seconds=60 + 121)
    assert (await dept.post(path + "/join"))["state"] == "waiting"  # type: ignore[index]
    # Someone not invited is not let in.
    other = await client_as("officer-legal")
    await other.post(path + "/join", status=404)


async def test_removed_participant_is_blocked_and_non_host_gets_403(
    client_as: ClientFactory, server: TestServer
) -> None:
    meeting = await scheduled(client_as, server)
    path = f"/api/meetings/{meeting['id']}"
    host = await client_as("officer-urban")
    leader = await client_as("leader")
    await host.post(path + "/join")
    lp = await leader.post(path + "/join")
    pid = lp["id"]  # type: ignore[index]
    for action, body in (
        ("admit", None),
        ("control", {"action": "mute"}),
        ("remove", None),
        ("role", {"role": "speaker"}),
    ):
        refused = await leader.post(f"{path}/participants/{pid}/{action}", body, status=403)
        assert refused["error"]["code"] == "forbidden", action  # type: ignore[index]
    await leader.post(path + "/end", status=403)
    await host.post(f"{path}/participants/{pid}/admit")
    muted = await host.post(f"{path}/participants/{pid}/control", {"action": "mute"})
    assert muted["state"] == "admitted"  # type: ignore[index]
    assert (await host.get(path))["participants"][1]["muted"] is True  # type: ignore[index]
    await host.post(f"{path}/participants/{pid}/remove")
    blocked = await leader.post(path + "/join", status=403)
    assert blocked["error"]["code"] == "removed_from_meeting"  # type: ignore[index]


async def test_hand_over_side_room_and_end_for_all(
    client_as: ClientFactory, server: TestServer
) -> None:
    meeting = await scheduled(client_as, server)
    path = f"/api/meetings/{meeting['id']}"
    host = await client_as("officer-urban")
    leader = await client_as("leader")
    terminal = await client_as("village-zhangzhuang")
    await host.post(path + "/join")
    lp = await leader.post(path + "/join")
    tp = await terminal.post(path + "/join")
    await host.post(path + "/lobby/admit-all")
    room = await host.post(
        path + "/side-rooms",
        {"name": "律师单独沟通", "participants": [tp["id"]]},  # type: ignore[index]
        status=201,
    )
    assert (await host.get(path))["side_rooms"] == [{"id": room["id"], "name": "律师单独沟通"}]  # type: ignore[index]
    await host.post(f"{path}/side-rooms/{room['id']}/close")  # type: ignore[index]
    # A terminal cannot become host; the leader can.
    await host.post(path + "/host", {"participant_id": tp["id"]}, status=422)  # type: ignore[index]
    await host.post(path + "/host", {"participant_id": lp["id"]})  # type: ignore[index]
    await host.post(path + "/end", status=403)
    ended = await leader.post(path + "/end")
    assert ended["state"] == "ended"  # type: ignore[index]
    refused = await terminal.post(path + "/join", status=409)
    assert refused["error"]["code"] == "meeting_ended"  # type: ignore[index]


async def test_minutes_land_in_the_case_timeline_and_decision_lists(
    client_as: ClientFactory, server: TestServer, clock: MovableClock
) -> None:
    meeting = await scheduled(client_as, server)
    path = f"/api/meetings/{meeting['id']}"
    host = await client_as("officer-urban")
    dept = await client_as("dept-zhujian")
    supervisor = await client_as("supervisor")
    await host.post(path + "/join")
    dp = await dept.post(path + "/join")
    await host.post(f"{path}/participants/{dp['id']}/admit")  # type: ignore[index]
    clock.at = T0 + timedelta(minutes=30)
    leader_id = (await me(await client_as("leader")))["id"]
    minutes = {
        "text": "会议议定如下。",
        "decisions": [
            {
                "text": "住建局十日内答复",
                "due": "2026-11-12",
                "owner_department_id": await department_id(server),
            },
            {"text": "领导督办", "due": "2026-12-30", "owner_user_id": leader_id},
        ],
    }
    await host.put(path + "/minutes", minutes)
    await host.post(path + "/end")
    case = await host.get(f"/api/cases/{meeting['case_id']}")
    kinds = [e["kind"] for e in case["events"]]  # type: ignore[index]
    assert kinds[-4:] == ["meeting_held", "meeting_minutes", "meeting_decision", "meeting_decision"]
    events = await case_events(server, meeting["case_id"])
    held = next(e for e in events if e.kind == "meeting_held")
    assert len(held.data["attendance"]) == 2
    assert held.data["recording_id"] is None
    assert {e.visibility for e in events if e.kind.startswith("meeting_")} == {"staff"}
    # The department owns one decision: it sees it, not the other nor the minutes.
    mine = await dept.get("/api/my/decisions")
    assert [d["text"] for d in mine["decisions"]] == ["住建局十日内答复"]  # type: ignore[index]
    clock.at = T0 + timedelta(days=20)  # sessions expire meanwhile: log in again
    supervisor, dept, host = [
        await client_as(u) for u in ("supervisor", "dept-zhujian", "officer-urban")
    ]
    overdue = await supervisor.get("/api/decisions?overdue=1")
    assert [d["text"] for d in overdue["decisions"]] == ["住建局十日内答复"]  # type: ignore[index]
    done_id = mine["decisions"][0]["id"]  # type: ignore[index]
    await dept.post(f"/api/decisions/{done_id}/done")
    assert (await supervisor.get("/api/decisions?overdue=1"))["decisions"] == []  # type: ignore[index]
    await dept.get("/api/decisions?overdue=1", status=403)
    # Minutes saved after the end land again, as a new revision.
    await host.put(path + "/minutes", {"text": "补充：另行通知。", "decisions": []})
    last = (await case_events(server, meeting["case_id"]))[-1]
    assert (last.kind, last.data["revision"]) == ("meeting_minutes", 2)


async def test_my_meetings_lists_upcoming_for_each_invitee(
    client_as: ClientFactory, server: TestServer
) -> None:
    meeting = await scheduled(client_as, server)
    for username in ("officer-urban", "dept-zhujian", "village-zhangzhuang", "leader"):
        client = await client_as(username)
        listed = await client.get("/api/my/meetings")
        assert [m["id"] for m in listed["meetings"]] == [meeting["id"]], username  # type: ignore[index]
    other = await client_as("dept-renshe")
    assert (await other.get("/api/my/meetings"))["meetings"] == []  # type: ignore[index]


async def test_invitation_page_shows_the_link_to_its_managers_only(
    client_as: ClientFactory, server: TestServer
) -> None:
    meeting = await scheduled(client_as, server)
    (external,) = [i for i in meeting["invitations"] if i["sort"] == "external"]
    page_path = f"/meetings/{meeting['id']}/invitation/{external['id']}"
    host = await client_as("officer-urban")
    page = await host.http.get(page_path)
    assert page.status == 200
    assert link_of(meeting) in await page.text()
    desk = await client_as("desk")
    resp = await desk.http.get(page_path, headers={"Accept": "application/json"})
    assert resp.status == 404


async def test_a_program_gets_the_json_error_shape_for_a_bad_link(
    client_as: ClientFactory, server: TestServer
) -> None:
    meeting = await scheduled(client_as, server)
    async with browsers(server, 1) as (http,):
        resp = await http.get(link_of(meeting) + "x", headers={"Accept": "application/json"})
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "link_invalid"


async def next_event(ws: Any, name: str) -> dict[str, Any]:
    """The data of the next `event` frame called `name` (others are skipped)."""
    while True:
        frame = json.loads((await ws.receive(timeout=5)).data)
        if frame["type"] == "event" and frame["name"] == name:
            return dict(frame["data"])


async def test_lobby_changes_are_published_on_the_meeting_topic(
    client_as: ClientFactory, server: TestServer
) -> None:
    meeting = await scheduled(client_as, server)
    path = f"/api/meetings/{meeting['id']}"
    host = await client_as("officer-urban")
    await host.post(path + "/join")
    ws = await host.http.ws_connect("/ws")
    await ws.send_str(json.dumps({"type": "subscribe", "topic": f"meeting:{meeting['id']}"}))
    assert (await next_event(ws, "meeting"))["waiting"] == []
    dept = await client_as("dept-zhujian")
    joined = await dept.post(path + "/join")
    waiting = (await next_event(ws, "meeting"))["waiting"]
    assert [w["id"] for w in waiting] == [joined["id"]]  # type: ignore[index]
    await host.post(f"{path}/participants/{joined['id']}/deny", {"message": "稍后再进"})  # type: ignore[index]
    denied = await next_event(ws, "lobby_denied")
    assert denied == {"participant_id": joined["id"], "message": "稍后再进"}  # type: ignore[index]
    await ws.close()
    # A guest's socket follows its meeting only.
    async with browsers(server, 1) as (guest,):
        assert (await guest.get(link_of(meeting))).status == 200
        gws = await guest.ws_connect("/ws")
        for ref, topic in enumerate((f"meeting:{meeting['id']}", "line:urban", "board")):
            await gws.send_str(json.dumps({"type": "subscribe", "topic": topic, "ref": ref}))
        answers: dict[int, str] = {}
        while len(answers) < 3:
            frame = json.loads((await gws.receive(timeout=5)).data)
            if frame["type"] in ("subscribed", "error"):
                answers[frame["ref"]] = frame["type"]
        assert answers == {0: "subscribed", 1: "error", 2: "error"}
        await gws.close()
