"""The reference signaling client in a real browser honours the server's refusals: closed for
flooding (4029), it waits the cooldown of its `welcome` before it tries to reconnect."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from tests.browser.pages import base_url, open_tracking_sockets
from web.config import Config

pytestmark = pytest.mark.browser
COOLDOWN_S = 3.0


@pytest.fixture
def config(config: Config) -> Config:
    signaling = dataclasses.replace(config.signaling, abuse_cooldown_s=COOLDOWN_S)
    return dataclasses.replace(config, signaling=signaling)


async def test_a_client_closed_for_flooding_reconnects_only_after_the_cooldown(
    server: TestServer, browser: Browser
) -> None:
    desk = await open_tracking_sockets(browser, base_url(server), "desk")
    closed_at = await desk.evaluate(
        """() => new Promise((resolve) => {
             const ws = window.__sockets.at(-1);
             ws.addEventListener("close", (e) => resolve([e.code, performance.now()]));
             for (let i = 0; i < 600; i++) ws.send(JSON.stringify({type: "ping", ref: i}));
           })"""
    )
    assert closed_at[0] == 4029
    await desk.wait_for_function(
        "() => window.__sockets.length > 1 && window.__sockets.at(-1).readyState === 1",
        timeout=int(COOLDOWN_S * 1000) + 15000,
    )
    times = await desk.evaluate("() => window.__socketTimes")
    # One reconnect, after the cooldown: no handshake was wasted on the 429 refusal.
    assert len(times) == 2, times
    assert times[1] - closed_at[1] >= COOLDOWN_S * 1000 - 50, (times, closed_at)
    await desk.context.close()
