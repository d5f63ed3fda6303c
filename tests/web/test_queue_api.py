"""Bad input to the queue through the real app: each gets a clear error code and leaves the queue
consistent (checked on the database afterwards)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from hall.accounts.tables import Role
from hall.accounts.users import add_user
from hall.demo import DEMO_PASSWORD
from hall.queue.queue import ACTIVE_STATES
from hall.queue.tables import OfficerStatus, Ticket, TicketEvent
from hall.settings import QueueSettings
from hall.visits.tables import Visit
from tests.conftest import ClientFactory
from tests.support import T0, Client, login, registration, valid_id_number
from web import keys
from web.app import create_app
from web.config import Config


def person(i: int, **overrides: object) -> dict[str, object]:
    return registration(id_number=valid_id_number(f"51010219800101{i:03d}"), **overrides)


async def add_officer(server: TestServer, username: str, line: str = "urban") -> None:
    async with server.app[keys.DB].transaction() as session:
        await add_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            role=Role.OFFICER,
            display_name=username,
            now=T0,
            line_codes=(line,),
        )


async def raw_post(client: Client, path: str, body: object = None) -> tuple[int, Any]:
    resp = await client.http.post(path, json=body, headers={"X-CSRF-Token": client.csrf})
    return resp.status, await resp.json()


async def error_of(client: Client, path: str, body: object, status: int) -> str:
    data = await client.post(path, body, status=status)
    assert isinstance(data, dict)
    code: str = data["error"]["code"]
    assert data["error"]["message"]
    return code


async def log_kinds(server: TestServer, ticket_id: int) -> list[str]:
    async with server.app[keys.DB].reader() as session:
        rows = await session.scalars(
            select(TicketEvent.kind)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.id)
        )
        return list(rows)


async def ticket_state(server: TestServer, ticket_id: int) -> str:
    async with server.app[keys.DB].reader() as session:
        return (await session.get_one(Ticket, ticket_id)).state


async def assert_consistent(server: TestServer) -> None:
    """The invariants of the queue, whatever requests came before."""
    async with server.app[keys.DB].reader() as session:
        tickets = list(await session.scalars(select(Ticket)))
        visits = list(await session.scalars(select(Visit)))
        statuses = {s.user_id: s for s in await session.scalars(select(OfficerStatus))}
        events = list(await session.scalars(select(TicketEvent).order_by(TicketEvent.id)))
    active = Counter(t.petitioner_id for t in tickets if t.state in ACTIVE_STATES)
    assert all(n == 1 for n in active.values()), active
    live = [v for v in visits if v.state == "live"]
    assert len({v.officer_id for v in live}) == len(live)  # one live visit per officer
    by_ticket = {t.id: t for t in tickets}
    for visit in live:
        ticket = by_ticket[visit.ticket_id]
        assert (ticket.state, ticket.officer_id) == ("serving", visit.officer_id)
        assert statuses[visit.officer_id].state == "busy"
    for ticket in tickets:
        mine = [v for v in live if v.ticket_id == ticket.id]
        assert len(mine) == (1 if ticket.state == "serving" else 0), ticket.number
        if ticket.state == "waiting":
            assert (ticket.officer_id, ticket.offered_to, ticket.called_at) == (None, None, None)
        if ticket.state == "offered":
            assert ticket.offered_to is not None and ticket.offer_expires_at is not None
        kinds = [e.kind for e in events if e.ticket_id == ticket.id]
        assert kinds[0] == "joined", (ticket.number, kinds)
        assert kinds.count("answered") == sum(1 for v in visits if v.ticket_id == ticket.id)


async def test_call_next_with_no_ticket_is_queue_empty(
    server: TestServer, client_as: ClientFactory
) -> None:
    officer = await client_as("officer-urban")
    assert await error_of(officer, "/api/queue/call-next", None, 409) == "queue_empty"
    # A ticket of another line is not this officer's to call.
    desk = await client_as("desk")
    await desk.post("/api/visit-requests", person(1, line="legal"), status=201)
    assert await error_of(officer, "/api/queue/call-next", None, 409) == "queue_empty"
    async with server.app[keys.DB].reader() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 0
    await assert_consistent(server)


async def test_unknown_line_is_invalid_input(server: TestServer, client_as: ClientFactory) -> None:
    desk = await client_as("desk")
    data = await desk.post("/api/visit-requests", person(1, line="moon"), status=422)
    assert isinstance(data, dict)
    assert data["error"]["code"] == "invalid_input"
    assert data["error"]["fields"] == {"line": "未知条线：moon"}
    made = await desk.post("/api/visit-requests", person(2), status=201)
    assert isinstance(made, dict)
    ticket_id = made["ticket"]["ticket_id"]
    body = {"line": "moon", "reason": "属其他条线"}
    path = f"/api/tickets/{ticket_id}/transfer"
    assert await error_of(desk, path, body, 422) == "invalid_input"
    assert await ticket_state(server, ticket_id) == "waiting"
    assert await log_kinds(server, ticket_id) == ["joined"]
    await assert_consistent(server)


async def test_second_ticket_for_a_waiting_petitioner_is_a_conflict(
    server: TestServer, client_as: ClientFactory
) -> None:
    terminal = await client_as("village-zhangzhuang")
    await terminal.post("/api/visit-requests", person(1), status=201)
    # The same person on another line, or through the desk: still one place.
    again = person(1, line="legal")
    assert await error_of(terminal, "/api/visit-requests", again, 409) == "conflict"
    desk = await client_as("desk")
    assert await error_of(desk, "/api/visit-requests", person(1), 409) == "conflict"
    async with server.app[keys.DB].reader() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1
    mine = await terminal.get("/api/terminal/tickets")
    assert isinstance(mine, list) and [t["number"] for t in mine] == ["C001"]
    await assert_consistent(server)


async def test_transferring_a_finished_ticket_is_a_conflict(
    server: TestServer, client_as: ClientFactory
) -> None:
    desk = await client_as("desk")
    made = await desk.post("/api/visit-requests", person(1), status=201)
    assert isinstance(made, dict)
    ticket_id = made["ticket"]["ticket_id"]
    officer = await client_as("officer-urban")
    called = await officer.post("/api/queue/call-next", status=201)
    assert isinstance(called, dict)
    await officer.post(f"/api/visits/{called['visit_id']}/end", {"outcome": "answered"})
    body = {"line": "legal", "reason": "属涉法事项"}
    assert await error_of(desk, f"/api/tickets/{ticket_id}/transfer", body, 409) == "conflict"
    assert await error_of(officer, f"/api/tickets/{ticket_id}/transfer", body, 409) == "conflict"
    assert await ticket_state(server, ticket_id) == "done"
    assert await log_kinds(server, ticket_id) == ["joined", "answered", "finished"]
    async with server.app[keys.DB].reader() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1
    await assert_consistent(server)


@pytest.mark.parametrize("waiting", [1, 2, 3])
async def test_two_officers_calling_at_once_never_share_a_ticket(
    server: TestServer, client_as: ClientFactory, waiting: int
) -> None:
    await add_officer(server, "officer-urban-2")
    desk = await client_as("desk")
    for i in range(waiting):
        await desk.post("/api/visit-requests", person(i), status=201)
    first = await client_as("officer-urban")
    second = await client_as("officer-urban-2")
    results = await asyncio.gather(
        raw_post(first, "/api/queue/call-next"), raw_post(second, "/api/queue/call-next")
    )
    won = [body["ticket"]["number"] for status, body in results if status == 201]
    lost = [body["error"]["code"] for status, body in results if status != 201]
    assert len(won) == len(set(won)) == min(waiting, 2)
    assert lost == ["queue_empty"] * (2 - len(won))
    # The longest waiting tickets went first.
    assert sorted(won) == [f"C{i + 1:03d}" for i in range(min(waiting, 2))]
    await assert_consistent(server)


async def test_recalling_a_missed_ticket_opens_a_new_visit(
    server: TestServer, client_as: ClientFactory
) -> None:
    terminal = await client_as("village-zhangzhuang")
    made = await terminal.post("/api/visit-requests", person(1), status=201)
    assert isinstance(made, dict)
    ticket_id = made["ticket"]["ticket_id"]
    officer = await client_as("officer-urban")
    first = await officer.post("/api/queue/call-next", status=201)
    assert isinstance(first, dict)
    missed = await officer.post(f"/api/visits/{first['visit_id']}/missed")
    assert missed == {
        "ticket_id": ticket_id,
        "number": "C001",
        "state": "waiting",
        "missed_count": 1,
    }
    assert await error_of(officer, f"/api/visits/{first['visit_id']}/missed", None, 409) == (
        "conflict"
    )
    second = await officer.post("/api/queue/call-next", status=201)
    assert isinstance(second, dict)
    assert second["ticket"]["id"] == ticket_id and second["visit_id"] != first["visit_id"]
    # The terminal is shown the visit in progress, not the missed one.
    mine = await terminal.get("/api/terminal/tickets")
    assert isinstance(mine, list) and [t["visit_id"] for t in mine] == [second["visit_id"]]
    status = await terminal.get(f"/api/tickets/{ticket_id}")
    assert isinstance(status, dict) and status["room"] == second["room"]
    assert await log_kinds(server, ticket_id) == ["joined", "answered", "missed", "answered"]
    await assert_consistent(server)


# -- auto-offer with short timers ---------------------------------------------------------------


@pytest.fixture
async def quick_server(config: Config) -> AsyncIterator[TestServer]:
    """The app with a 1 s offer timeout and a fast sweeper."""
    quick = dataclasses.replace(
        config, queue=QueueSettings(offer_timeout_s=1, sweep_interval_s=0.05)
    )
    srv = TestServer(create_app(quick))
    await srv.start_server()
    yield srv
    await srv.close()


async def quick_client(
    server: TestServer, username: str, opened: list[TestClient[Any, Any]]
) -> Client:
    http: TestClient[Any, Any] = TestClient(server)
    await http.start_server()
    opened.append(http)
    return await login(http, username)


async def wait_for(server: TestServer, ticket_id: int, kind: str) -> None:
    deadline = time.monotonic() + 10
    while kind not in await log_kinds(server, ticket_id):
        assert time.monotonic() < deadline, await log_kinds(server, ticket_id)
        await asyncio.sleep(0.05)


async def test_accepting_an_offer_that_moved_on_is_a_conflict(quick_server: TestServer) -> None:
    opened: list[TestClient[Any, Any]] = []
    try:
        supervisor = await quick_client(quick_server, "supervisor", opened)
        await supervisor.put("/api/lines/urban/auto-offer", {"enabled": True})
        officer = await quick_client(quick_server, "officer-urban", opened)
        await officer.put("/api/officer/state", {"state": "available"})
        desk = await quick_client(quick_server, "desk", opened)
        made = await desk.post("/api/visit-requests", person(1), status=201)
        assert isinstance(made, dict)
        ticket_id = made["ticket"]["ticket_id"]
        assert "offered" in await log_kinds(quick_server, ticket_id)
        await wait_for(quick_server, ticket_id, "offer_expired")
        path = f"/api/offers/{ticket_id}/accept"
        assert await error_of(officer, path, None, 409) == "conflict"
        decline = f"/api/offers/{ticket_id}/decline"
        assert await error_of(officer, decline, None, 409) == "conflict"
        state = await officer.get("/api/officer/state")
        assert isinstance(state, dict) and (state["state"], state["reason"]) == (
            "away",
            "no_answer",
        )
        assert await ticket_state(quick_server, ticket_id) == "waiting"
        # Back and available: the ticket is offered again and accepted in time.
        await officer.put("/api/officer/state", {"state": "available"})
        assert await ticket_state(quick_server, ticket_id) == "offered"
        called = await officer.post(path, status=201)
        assert isinstance(called, dict) and called["ticket"]["id"] == ticket_id
        assert await error_of(officer, path, None, 409) == "conflict"  # accepting twice
        await assert_consistent(quick_server)
    finally:
        for http in opened:
            await http.close()
