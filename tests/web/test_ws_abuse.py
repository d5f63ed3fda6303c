"""Abuse of the signaling endpoint: frames no parser or encoder survives, too many sockets of one
account, and reconnecting straight after being closed for flooding."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import aiohttp
import pytest

from signaling.session import CLOSE_ABUSE, CLOSE_TOO_MANY_SOCKETS
from tests.conftest import ClientFactory
from tests.web.test_account_sockets import closed_with
from tests.web.test_ws import error_of, frame, open_ws
from web.config import Config
from web.ws import Cooldowns

DIGITS = "9" * 5000
COOLDOWN_S = 1.5


@pytest.fixture
def config(config: Config) -> Config:
    # A short cooldown so that the test sees it end; a small cap so that it is cheap to reach.
    signaling = dataclasses.replace(
        config.signaling, abuse_cooldown_s=COOLDOWN_S, max_sockets_per_account=3
    )
    return dataclasses.replace(config, signaling=signaling)


async def pong(ws: aiohttp.ClientWebSocketResponse, ref: str) -> None:
    await ws.send_str(json.dumps({"type": "ping", "ref": ref}))
    assert (await frame(ws, type="pong"))["ref"] == ref


async def test_frames_nothing_can_parse_or_encode_get_an_error_and_the_socket_lives_on(
    client_as: ClientFactory,
) -> None:
    ws = await open_ws(await client_as("desk"))
    cases = [
        ('{"type": "ping", "ref": "\\ud800"}', "invalid_field"),
        ('{"type": "\\udfff", "ref": 1}', "unknown_type"),
        ('{"type": "subscribe", "topic": "\\ud800", "ref": 2}', "invalid_field"),
        ('{"type": "ping", "ref": ' + "[" * 50_000, "bad_json"),
        ('{"type": "ping", "ref": ' + "[" * 500 + "]" * 500 + "}", "invalid_field"),
        ('{"type": "ping", "ref": ' + DIGITS + "}", "bad_json"),
        ('{"type": "ping", "ref": ' + str(2**64) + "}", "invalid_field"),
        ('{"type": "ping", "ref": "' + "r" * 300 + '"}', "invalid_field"),
    ]
    for text, code in cases:
        data = await error_of(ws, text)
        assert data["error"]["code"] == code, (text[:60], data)
        assert "ref" not in data or data["ref"] in (1, 2), data
        await pong(ws, "after")
    await ws.close()


async def test_an_account_opens_at_most_max_sockets_per_account(client_as: ClientFactory) -> None:
    desk = await client_as("desk")
    other = await client_as("officer-urban")
    sockets = [await open_ws(desk) for _ in range(3)]
    extra = await desk.http.ws_connect("/ws")
    assert await closed_with(extra) == CLOSE_TOO_MANY_SOCKETS
    await pong(await open_ws(other), "another account is not counted")
    await sockets[0].close()
    again = await open_ws(desk)  # a closed socket frees its place
    await pong(again, "in")
    for ws in [*sockets, again]:
        await ws.close()


async def test_a_client_closed_for_flooding_waits_before_reconnecting(
    client_as: ClientFactory,
) -> None:
    desk = await client_as("desk")
    bystander = await client_as("officer-urban")
    ws = await desk.http.ws_connect("/ws")
    assert (await frame(ws, type="welcome"))["cooldown_s"] == COOLDOWN_S
    for i in range(600):
        await ws.send_str(json.dumps({"type": "ping", "ref": i}))
    assert await closed_with(ws) == CLOSE_ABUSE
    refused_at = time.monotonic()
    resp = await desk.http.get(
        "/ws",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert resp.status == 429
    body = await resp.json()
    assert body["error"]["code"] == "rate_limited"
    assert 1 <= int(resp.headers["Retry-After"]) <= 2
    await pong(await open_ws(bystander), "others may connect")
    await asyncio.sleep(max(0.0, refused_at + COOLDOWN_S - time.monotonic()))
    again = await open_ws(desk)
    await pong(again, "back")
    await again.close()


def test_the_cooldown_table_is_bounded_and_drops_expired_pairs() -> None:
    table = Cooldowns(max_entries=3)
    for user in range(5):
        table.start((user, "10.0.0.1"), 60)
    assert len(table) == 3
    assert table.remaining_s((0, "10.0.0.1")) == 0  # the oldest went first
    assert table.remaining_s((4, "10.0.0.1")) > 59
    table.start((9, "10.0.0.2"), 0)
    table.start((10, "10.0.0.2"), 60)  # the expired pair is dropped, not the oldest live one
    assert table.remaining_s((3, "10.0.0.1")) > 59
    assert table.remaining_s((9, "10.0.0.2")) == 0
