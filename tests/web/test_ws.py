"""The signaling endpoint: authentication, snapshots, live pushes and every error code."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import ClientFactory
from tests.support import Client, registration, valid_id_number


async def frame(ws: aiohttp.ClientWebSocketResponse, **match: Any) -> dict[str, Any]:
    """The next frame whose fields equal `match` (others are skipped), within 5 s."""
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data: dict[str, Any] = json.loads(msg.data)
        if all(data.get(k) == v for k, v in match.items()):
            return data


async def open_ws(client: Client) -> aiohttp.ClientWebSocketResponse:
    ws = await client.http.ws_connect("/ws")
    welcome = await frame(ws)
    assert welcome["type"] == "welcome"
    assert welcome["user"]["role"] in ("terminal", "officer", "desk")
    return ws


async def error_of(ws: aiohttp.ClientWebSocketResponse, text: str) -> dict[str, Any]:
    await ws.send_str(text)
    data = await frame(ws, type="error")
    return data


async def test_anonymous_websocket_is_refused(server: TestServer) -> None:
    async with TestClient(server) as http:
        resp = await http.get("/ws", headers={"Accept": "application/json"})
        assert resp.status == 401


async def test_each_bad_frame_gets_its_error_code_and_the_connection_lives_on(
    client_as: ClientFactory,
) -> None:
    terminal = await client_as("village-zhangzhuang")
    ws = await open_ws(terminal)
    other = await open_ws(await client_as("officer-urban"))
    cases = [
        ("{not json", "bad_json", None),
        ("[1, 2]", "bad_json", None),
        ('{"type": "dance", "ref": 1}', "unknown_type", 1),
        ('{"ref": 2}', "invalid_field", 2),
        ('{"type": "subscribe", "ref": 3}', "invalid_field", 3),
        ('{"type": "subscribe", "topic": "secrets:1", "ref": 4}', "invalid_field", 4),
        ('{"type": "join", "room": "visit-1", "extra": 1, "ref": 5}', "invalid_field", 5),
        ('{"type": "subscribe", "topic": "line:urban", "ref": 6}', "forbidden", 6),
        ('{"type": "subscribe", "topic": "ticket:999", "ref": 7}', "not_found", 7),
        ('{"type": "join", "room": "visit-999", "ref": 8}', "unknown_room", 8),
        ('{"type": "offer", "room": "visit-1", "sdp": "v=0 x y z w v", "ref": 9}', "not_joined", 9),
        ('{"type": "leave", "room": "visit-1", "ref": 10}', "not_joined", 10),
        (json.dumps({"type": "ping", "pad": "x" * 70000}), "frame_too_large", None),
    ]
    for text, code, ref in cases:
        data = await error_of(ws, text)
        assert data["error"]["code"] == code, (text[:60], data)
        assert data.get("ref") == ref
        assert data["error"]["message"]
    await ws.send_bytes(b"\x00\x01")
    assert (await frame(ws, type="error"))["error"]["code"] == "bad_json"
    await ws.send_str('{"type": "ping", "ref": "still-here"}')
    assert (await frame(ws, type="pong"))["ref"] == "still-here"
    await other.send_str('{"type": "ping", "ref": 1}')
    assert (await frame(other, type="pong"))["ref"] == 1
    await ws.close()
    await other.close()


async def test_flooding_is_rate_limited_without_losing_the_connection(
    client_as: ClientFactory,
) -> None:
    ws = await open_ws(await client_as("desk"))
    for i in range(90):
        await ws.send_str(json.dumps({"type": "ping", "ref": i}))
    codes = []
    for _ in range(90):
        data = await frame(ws)
        codes.append(data["type"] if data["type"] != "error" else data["error"]["code"])
    assert "rate_limited" in codes
    assert codes.count("pong") >= 60
    assert not ws.closed
    await ws.close()


async def test_ticket_topic_pushes_position_as_the_queue_moves(
    client_as: ClientFactory,
) -> None:
    desk = await client_as("desk")
    first = await desk.post("/api/visit-requests", registration(), status=201)
    terminal = await client_as("village-zhangzhuang")
    mine = await terminal.post(
        "/api/visit-requests",
        registration(id_number=valid_id_number("11010519900307001")),
        status=201,
    )
    assert isinstance(first, dict) and isinstance(mine, dict)
    ws = await open_ws(terminal)
    topic = f"ticket:{mine['ticket']['id']}"
    await ws.send_str(json.dumps({"type": "subscribe", "topic": topic, "ref": "s"}))
    assert (await frame(ws, type="subscribed"))["ref"] == "s"
    snapshot = await frame(ws, type="event", topic=topic)
    assert snapshot["name"] == "ticket_status"
    assert (snapshot["data"]["number"], snapshot["data"]["position"]) == ("C002", 2)
    officer = await client_as("officer-urban")
    watcher = await open_ws(officer)
    await watcher.send_str(json.dumps({"type": "subscribe", "topic": "line:urban"}))
    queue = await frame(watcher, type="event", name="queue")
    assert [t["number"] for t in queue["data"]["waiting"]] == ["C001", "C002"]
    assert queue["data"]["waiting"][0]["name"] == "张*"
    await officer.post("/api/queue/call-next", status=201)
    moved = await frame(ws, type="event", topic=topic)
    while moved["data"]["position"] != 1:  # pushes from the officer coming online come first
        assert moved["data"]["position"] == 2
        moved = await frame(ws, type="event", topic=topic)
    assert (moved["data"]["position"], moved["data"]["ahead"]) == (1, 0)
    queue = await frame(watcher, type="event", name="queue")
    assert [t["number"] for t in queue["data"]["waiting"]] == ["C002"]
    await ws.close()
    await watcher.close()


async def test_browser_handshake_without_session_gets_401(server: TestServer) -> None:
    async with TestClient(server) as http:
        resp = await http.get("/ws", allow_redirects=False)
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "unauthenticated"


async def test_cross_site_websocket_is_refused(client_as: ClientFactory) -> None:
    desk = await client_as("desk")
    resp = await desk.http.get(
        "/ws",
        headers={"Origin": "http://evil.example", "Connection": "Upgrade", "Upgrade": "websocket"},
    )
    assert resp.status == 403
    ws = await desk.http.ws_connect("/ws", origin=str(desk.http.make_url("/")).rstrip("/"))
    assert (await frame(ws))["type"] == "welcome"
    await ws.close()


async def test_unusable_offer_gets_media_failed(client_as: ClientFactory) -> None:
    terminal = await client_as("village-zhangzhuang")
    await terminal.post("/api/visit-requests", registration(), status=201)
    officer = await client_as("officer-urban")
    called = await officer.post("/api/queue/call-next", status=201)
    assert isinstance(called, dict)
    ws = await open_ws(officer)
    await ws.send_str(json.dumps({"type": "join", "room": called["room"], "ref": 1}))
    assert (await frame(ws, ref=1))["type"] == "joined"
    bad = json.dumps({"type": "offer", "room": called["room"], "sdp": "v=0\r\nnonsense", "ref": 2})
    data = await error_of(ws, bad)
    assert data["error"]["code"] == "media_failed"
    assert data["ref"] == 2
    odd = await error_of(ws, '{"type": "ping", "ref": true}')
    assert odd["error"]["code"] == "invalid_field" and "ref" not in odd
    await ws.close()
