"""Who sees a case's query code (查询码), the petitioner's secret: every route of the route table
that names a ticket, case, visit, notice, recording, petitioner, document or supervision, every
list and page, and every signaling topic kind, as every demo account (and anonymous), on two
cases that finished a visit: one registered by a village terminal, one walk-in by the desk."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from hall.cases.notices import NoticeKind
from hall.cases.tables import Case
from hall.db import Database
from hall.queue.tables import Ticket
from signaling.messages import TOPIC_PATTERN
from tests.conftest import ClientFactory
from tests.document_fixtures import png, upload, upload_form
from tests.support import Client, HttpClient, ready_recording, registration, valid_id_number
from tests.web.test_case_transitions import server as server  # the app on a fixed March 2026 clock
from tests.web.test_department_api import assign
from web import keys
from web.app import DEMO_LOGINS
from web.config import Config

# Path parameters the walk fills from a finished case; {kind} is every notice kind.
FILLED = (
    *("ticket_id", "case_id", "visit_id", "petitioner_id", "recording_id", "document_id"),
    *("supervision_id", "kind", "meeting_id"),
)
# Path parameters that name nothing of a ticket or case: their routes are not walked.
OTHER_PARAMS = {
    "code": "a line's code: the line's auto-offer setting, no ticket or case",
    "day": "a calendar day of the holiday table",
    "year": "a calendar year of the holiday table",
    "department_id": "a department of the register (administration)",
    "user_id": "an account (administration)",
    "invitation_id": "an invitee of a meeting (its case's meeting is walked by meeting_id)",
    "participant_id": "a participant of a meeting (host controls: no case data in answers)",
    "room_id": "a side room of a meeting",
    "decision_id": "a decision of a meeting's minutes",
    "token": "an external invitee's signed link (a guest session, no case data)",
}
# Every GET route without a path parameter (pages, lists) is walked too. Those that are not, and
# every other route without one (each changes something and names no existing ticket or case),
# are listed here with the reason, so that a new one is decided on.
NOT_WALKED = {
    "POST /login": "logs in: answers with a redirect",
    "POST /logout": "ends the session the walk uses",
    "POST /api/visit-requests": "registers a new case: answers with that case's waiting ticket",
    "POST /api/meetings": "schedules a new meeting (each case's meeting is walked by meeting_id)",
    "POST /api/queue/call-next": "starts the next visit (would consume the walk's tickets)",
    "PUT /api/officer/state": "the caller's own availability",
    "POST /api/public/query": "anonymous, and needs the query code itself",
    "POST /api/public/evaluation/status": "anonymous, and needs the query code itself",
    "POST /api/public/evaluation": "anonymous, and needs the query code itself",
    "POST /api/admin/calendar/overrides": "the holiday table",
    "POST /api/admin/calendar/bulk": "the holiday table",
    "POST /api/admin/calendar/recompute": "recomputes deadlines: answers with counts",
    "POST /api/admin/departments": "the department register",
    "POST /api/admin/users": "the accounts",
    "GET /ws": "the signaling endpoint: every topic kind is walked below",
    "GET /static": "static files",
}
# Who may see a query code, and where (the route or topic, as walked).
NOTICE_READERS = {"officer-urban", "desk", "leader", "supervisor", "admin"}
ACCEPTANCE = "GET /cases/{case_id}/notices/acceptance"


def expected(registrar: str) -> set[tuple[str, str]]:
    """The terminal (or desk) that registered the ticket reads it with its finished ticket;
    staff who may read the case print it on the acceptance notice (受理告知书)."""
    return {
        ("GET /api/tickets/{ticket_id}", registrar),
        ("topic ticket", registrar),
        *((ACCEPTANCE, who) for who in NOTICE_READERS),
    }


@dataclass
class Finished:
    """A case that finished a visit, with everything its routes name."""

    case_id: int
    query_code: str
    ticket_id: int
    visit_id: int
    petitioner_id: int
    recording_id: int = 0
    document_id: int = 0
    supervision_id: int = 0
    meeting_id: int = 0


async def frames_until_pong(ws: aiohttp.ClientWebSocketResponse, ref: str) -> list[str]:
    """Every frame the server sent before the `pong` answering `ref` (sent now)."""
    await ws.send_str(json.dumps({"type": "ping", "ref": ref}))
    texts: list[str] = []
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data = json.loads(msg.data)
        if data["type"] == "pong" and data.get("ref") == ref:
            return texts
        texts.append(msg.data)


class Sockets:
    """One signaling connection per account; what each received, by topic kind."""

    def __init__(self, clients: dict[str, Client]) -> None:
        self.clients = clients
        self.ws: dict[str, aiohttp.ClientWebSocketResponse] = {}
        self.received: list[tuple[str, str]] = []  # (username, frame text)
        self.pings = 0

    async def open(self) -> None:
        for username, client in self.clients.items():
            self.ws[username] = await client.http.ws_connect("/ws")

    async def subscribe(self, topics: dict[str, str]) -> None:
        """Every account subscribes to `topics` ({kind: topic}; `officer` is its own id)."""
        for username, ws in self.ws.items():
            for kind, topic in topics.items():
                if kind == "officer":
                    me = await self.clients[username].get("/api/me")
                    assert isinstance(me, dict)
                    topic = f"officer:{me['id']}"
                await ws.send_str(json.dumps({"type": "subscribe", "topic": topic}))
        await self.drain()

    async def drain(self) -> None:
        self.pings += 1
        for username, ws in self.ws.items():
            for text in await frames_until_pong(ws, f"drain-{self.pings}"):
                self.received.append((username, text))

    def showing(self, code: str) -> set[tuple[str, str]]:
        found = set()
        for username, text in self.received:
            if code in text:
                frame = json.loads(text)
                kind = str(frame.get("topic", "")).partition(":")[0]
                found.add((f"topic {kind}", username))
        return found

    async def close(self) -> None:
        for ws in self.ws.values():
            await ws.close()


async def finish_visit(officer: Client) -> tuple[int, int]:
    """Call the next ticket and return (ticket id, visit id) of the live visit."""
    called = await officer.post("/api/queue/call-next", status=201)
    assert isinstance(called, dict)
    return int(called["ticket"]["id"]), int(called["visit_id"])


async def route_case(client_as: ClientFactory, config: Config, case: Finished) -> None:
    """Assign the case to 县住建局 and accept it (the acceptance notice exists), add a document
    shared with the petitioner, a supervision and a ready recording: every route has a target."""
    officer = await client_as("officer-urban")
    await assign(officer, case.case_id)
    await officer.post(
        f"/api/cases/{case.case_id}/transitions", {"to": "accepted", "reason": "受理"}
    )
    desk = await client_as("desk")
    doc = await upload(desk, case.case_id, upload_form(png(), "photo.png", visibility="petitioner"))
    case.document_id = int(str(doc["id"]))
    supervisor = await client_as("supervisor")
    opened = await supervisor.post(
        f"/api/cases/{case.case_id}/supervisions",
        {"reason": "督办", "feedback_due": "2026-03-20"},
        status=201,
    )
    assert isinstance(opened, dict)
    case.supervision_id = int(opened["id"])
    case.recording_id = await ready_recording(
        config.hall.resolved_database_url(),
        config.recording.directory,
        case_id=case.case_id,
        visit_id=case.visit_id,
    )


async def schedule_meeting(officer: Client, case_id: int) -> int:
    """A live coordination meeting on the case, hosted by the officer, inviting the registering
    station, the department and a lawyer by link."""
    me = await officer.get("/api/me")
    made = await officer.post(
        "/api/meetings",
        {
            "kind": "coordination",
            "title": "协调会",
            "case_id": case_id,
            "starts_at": "2026-03-09T08:00:00+00:00",
            "duration_min": 60,
            "host_id": me["id"],  # type: ignore[index]
            "invitees": [
                {"sort": "department", "department_id": 1},
                {"sort": "external", "name": "王律师", "external_role": "lawyer"},
            ],
        },
        status=201,
    )
    assert isinstance(made, dict)
    await officer.post(f"/api/meetings/{made['id']}/join")
    return int(made["id"])


async def facts(config: Config, case_id: int, ticket_id: int, visit_id: int) -> Finished:
    db = Database(config.hall.resolved_database_url())
    try:
        async with db.reader() as session:
            case = await session.get_one(Case, case_id)
            ticket = await session.get_one(Ticket, ticket_id)
            assert ticket.case_id == case.id and ticket.state == "done"
            return Finished(case.id, case.query_code, ticket.id, visit_id, case.petitioner_id)
    finally:
        await db.close()


def walked_paths(policies: dict[str, frozenset[str]], case: Finished) -> list[tuple[str, str, str]]:
    """(where, method, path) of every route the walk requests for `case`, reads first."""
    values = {
        "ticket_id": case.ticket_id,
        "case_id": case.case_id,
        "visit_id": case.visit_id,
        "petitioner_id": case.petitioner_id,
        "recording_id": case.recording_id,
        "document_id": case.document_id,
        "supervision_id": case.supervision_id,
        "meeting_id": case.meeting_id,
    }
    assert {*values, "kind"} == set(FILLED)
    out = []
    for key in policies:
        method, path = key.split(" ", 1)
        params = re.findall(r"\{(\w+)\}", path)
        unknown = [p for p in params if p not in FILLED and p not in OTHER_PARAMS]
        assert not unknown, f"{key}: decide whether {unknown} names a ticket or case"
        if any(p in OTHER_PARAMS for p in params):
            continue
        if not params and (method != "GET" or key in NOT_WALKED):
            assert key in NOT_WALKED, f"{key}: walk it or say in NOT_WALKED why not"
            continue
        filled = path
        for name, value in values.items():
            filled = filled.replace(f"{{{name}}}", str(value))
        if "{kind}" in path:
            for kind in NoticeKind:
                where = f"{method} {path.replace('{kind}', kind.value)}"
                out.append((where, method, filled.replace("{kind}", kind.value)))
        else:
            out.append((key, method, filled))
    return sorted(out, key=lambda row: (row[1] != "GET", row[0]))


async def walk(
    clients: dict[str, Client],
    anonymous: HttpClient,
    policies: dict[str, frozenset[str]],
    case: Finished,
) -> set[tuple[str, str]]:
    """(where, username) of every response that carries the case's query code."""
    found = set()
    paths = walked_paths(policies, case)
    assert len(paths) > 60
    for where, method, path in paths:
        for username, client in {"anonymous": None, **clients}.items():
            http = anonymous if client is None else client.http
            headers = {"Accept": "application/json"}
            if client is not None:
                headers["X-CSRF-Token"] = client.csrf
            resp = await http.request(
                method,
                path,
                headers=headers,
                allow_redirects=False,
                json=None if method == "GET" else {},
            )
            if case.query_code.encode() in await resp.read():
                found.add((where, username))
    return found


async def test_only_the_registrar_and_notice_printing_staff_see_a_query_code(
    server: TestServer, client_as: ClientFactory, config: Config
) -> None:
    usernames = [login.username for login in server.app[DEMO_LOGINS]]
    assert {"hall-board", "dept-zhujian", "village-zhangzhuang", "desk"} <= set(usernames)
    clients = {name: await client_as(name) for name in usernames}
    remote = await clients["village-zhangzhuang"].post(
        "/api/visit-requests", registration(), status=201
    )
    walk_in = await clients["desk"].post(
        "/api/visit-requests",
        registration(name="钱小红", id_number=valid_id_number("11010519900307001")),
        status=201,
    )
    assert isinstance(remote, dict) and isinstance(walk_in, dict)
    officer = clients["officer-urban"]
    sockets = Sockets(clients)
    await sockets.open()
    kinds = {k for part in re.findall(r"\^\(?([a-z|]+)", TOPIC_PATTERN) for k in part.split("|")}
    assert kinds == {"ticket", "visit", "officer", "line", "board", "meeting"}, (
        "a new topic kind: walk it"
    )
    # Live events: every account follows both tickets and each visit while it is live.
    cases = []
    for made in (remote, walk_in):
        ticket_id, visit_id = await finish_visit(officer)
        assert ticket_id == made["ticket"]["id"]
        await sockets.subscribe(
            {
                "ticket": f"ticket:{ticket_id}",
                "visit": f"visit:{visit_id}",
                "officer": "",
                "line": "line:urban",
                "board": "board",
            }
        )
        await officer.post(f"/api/visits/{visit_id}/end", {"outcome": "accepted"})
        await sockets.drain()
        case = await facts(config, int(made["case_id"]), ticket_id, visit_id)
        case.meeting_id = await schedule_meeting(officer, case.case_id)
        cases.append(case)
    # Snapshots: every account subscribes again once both tickets are done.
    for case in cases:
        await sockets.subscribe(
            {
                "ticket": f"ticket:{case.ticket_id}",
                "visit": f"visit:{case.visit_id}",
                "meeting": f"meeting:{case.meeting_id}",
            }
        )
    await sockets.close()
    for case in cases:
        await route_case(client_as, config, case)
    policies = server.app[keys.POLICIES]
    async with TestClient(server) as anonymous:
        for case, registrar in zip(cases, ("village-zhangzhuang", "desk"), strict=True):
            # The department handles the case: it reads the case page, never the code.
            page = await clients["dept-zhujian"].http.get(f"/cases/{case.case_id}")
            assert page.status == 200
            seen = await walk(clients, anonymous, policies, case) | sockets.showing(case.query_code)
            leaked, hidden = seen - expected(registrar), expected(registrar) - seen
            assert not leaked and not hidden, (
                f"leaked to {sorted(leaked)}; not shown {sorted(hidden)}"
            )


async def test_the_display_board_and_departments_follow_no_ticket_or_visit(
    client_as: ClientFactory,
) -> None:
    terminal = await client_as("village-zhangzhuang")
    made = await terminal.post("/api/visit-requests", registration(), status=201)
    assert isinstance(made, dict)
    called = await (await client_as("officer-urban")).post("/api/queue/call-next", status=201)
    assert isinstance(called, dict)
    ticket, visit = made["ticket"]["id"], called["visit_id"]
    for username, board in (
        ("hall-board", True),
        ("dept-zhujian", False),
        (terminal.username, False),
    ):
        client = terminal if username == terminal.username else await client_as(username)
        if username != terminal.username:
            await client.get(f"/api/tickets/{ticket}", status=403)
        me = await client.get("/api/me")
        assert isinstance(me, dict)
        ws = await client.http.ws_connect("/ws")
        topics = [f"visit:{visit}", "line:urban", f"officer:{me['id']}", "board"]
        if username != terminal.username:
            topics.append(f"ticket:{ticket}")
        for ref, topic in enumerate(topics):
            await ws.send_str(json.dumps({"type": "subscribe", "topic": topic, "ref": ref}))
        answers = {}
        for text in await frames_until_pong(ws, "end"):
            frame = json.loads(text)
            if frame["type"] in ("subscribed", "error"):
                answers[topics[frame["ref"]]] = frame["type"] == "subscribed"
        allowed = {"board"} if board else set()
        if username == terminal.username:
            allowed.add(f"visit:{visit}")  # its own live visit
        assert answers == {t: t in allowed for t in topics}, username
        await ws.close()
