"""Ending an account (停用, 重置密码) ends its open WebSockets at once: the console is closed with
1008, the officer goes offline, a held auto-offer waits again, and no new socket opens."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from tests.conftest import ClientFactory
from tests.support import Client
from tests.web.test_queue_api import log_kinds, person, ticket_state
from tests.web.test_ws import frame, open_ws


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> int:
    """Read until the server closes the socket; its close code."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        msg = await ws.receive(timeout=10)
        if msg.type == aiohttp.WSMsgType.CLOSE:
            return int(msg.data)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg  # events still queued before the close
    raise AssertionError("the socket stayed open")


async def user_id(admin: Client, username: str) -> int:
    users = await admin.get("/api/admin/users")
    assert isinstance(users, dict)
    return int(next(u["id"] for u in users["users"] if u["username"] == username))


async def test_deactivating_an_officer_closes_the_open_console_and_releases_the_offer(
    server: TestServer, client_as: ClientFactory
) -> None:
    admin, supervisor = await client_as("admin"), await client_as("supervisor")
    officer, desk = await client_as("officer-urban"), await client_as("desk")
    await supervisor.put("/api/lines/urban/auto-offer", {"enabled": True})
    console = await open_ws(officer)
    me = await user_id(admin, "officer-urban")
    await console.send_json({"type": "subscribe", "topic": f"officer:{me}", "ref": 1})
    await frame(console, type="subscribed", ref=1)
    state: Any = await officer.get("/api/officer/state")
    assert state["state"] == "available"
    made: Any = await desk.post("/api/visit-requests", person(7), status=201)
    ticket_id = made["ticket"]["ticket_id"]
    offer = await frame(console, type="event", name="offer")
    assert offer["data"]["ticket_id"] == ticket_id
    assert await ticket_state(server, ticket_id) == "offered"

    await admin.post(f"/api/admin/users/{me}/deactivate")
    assert await closed_with(console) == 1008  # policy violation: the account ended
    deadline = time.monotonic() + 5
    while await ticket_state(server, ticket_id) != "waiting":  # released, not left to lapse
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    kinds = await log_kinds(server, ticket_id)
    assert kinds[-1] == "offer_released" and "offer_expired" not in kinds
    queues: Any = await supervisor.get("/api/queues")
    urban = next(q for q in queues["lines"] if q["line"] == "urban")
    assert {o["username"]: o["state"] for o in urban["officers"]}["officer-urban"] == "offline"
    resp = await officer.http.get("/ws", headers={"Accept": "application/json"})
    assert resp.status == 401  # no new socket either


async def test_a_password_reset_closes_a_terminals_socket(client_as: ClientFactory) -> None:
    admin, terminal = await client_as("admin"), await client_as("village-zhangzhuang")
    other = await client_as("officer-urban")
    socket = await open_ws(terminal)
    bystander = await open_ws(other)
    target = await user_id(admin, "village-zhangzhuang")
    await admin.post(f"/api/admin/users/{target}/password", {"password": "zhangzhuang-2027"})
    assert await closed_with(socket) == 1008
    await bystander.send_json({"type": "ping", "ref": "still-here"})
    assert (await frame(bystander, type="pong"))["ref"] == "still-here"  # others are untouched
    await bystander.close()
