"""The one WebSocket endpoint: authenticated by the session cookie, served by signaling."""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, web

from hall.errors import Forbidden, RateLimited
from signaling.handlers import HANDLERS
from signaling.session import CLOSE_TOO_MANY_SOCKETS, Connection
from web import keys
from web.auth import ANY_USER, GUEST, add_route, client_address, principal

# Bounds the cooldown table: an address-rotating flood cannot grow it without limit.
COOLDOWN_ENTRIES_MAX = 10_000


class Cooldowns:
    """(account, address) pairs closed for flooding (`CLOSE_ABUSE`, 4029), each refused until
    its moment (monotonic seconds). Expired entries go on every write; past
    COOLDOWN_ENTRIES_MAX the oldest go first."""

    def __init__(self, max_entries: int = COOLDOWN_ENTRIES_MAX) -> None:
        self.max_entries = max_entries
        self._until: dict[tuple[int, str], float] = {}

    def remaining_s(self, key: tuple[int, str]) -> float:
        """Seconds `key` must still wait (0 when it may connect)."""
        until = self._until.get(key)
        return 0.0 if until is None else max(0.0, until - time.monotonic())

    def start(self, key: tuple[int, str], seconds: float) -> None:
        now = time.monotonic()
        for old in [k for k, until in self._until.items() if until <= now]:
            del self._until[old]
        self._until.pop(key, None)
        while len(self._until) >= self.max_entries:
            del self._until[next(iter(self._until))]
        self._until[key] = now + seconds

    def __len__(self) -> int:
        return len(self._until)


async def websocket(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        # Cookies ride along on cross-site WebSocket handshakes; only our own pages may connect.
        raise Forbidden("拒绝来自其他站点的WebSocket连接")
    settings = request.app[keys.CONFIG].signaling
    cooldown_key = (who.user_id, client_address(request))
    cooldowns = request.app[COOLDOWNS]
    wait_s = cooldowns.remaining_s(cooldown_key)
    if wait_s > 0:
        raise RateLimited(
            "发送过快，连接已被关闭，请稍后再连接", retry_after_s=max(1, math.ceil(wait_s))
        )
    # aiohttp's own limit is a backstop far above ours, so an oversized frame gets our
    # frame_too_large error instead of a dropped connection.
    ws = web.WebSocketResponse(
        heartbeat=settings.heartbeat_s, max_msg_size=settings.max_frame_bytes * 16
    )
    mine = request.app[USER_SOCKETS].setdefault(who.user_id, set())
    if len(mine) >= settings.max_sockets_per_account:
        # Upgraded and closed at once, so that a browser, which never sees the status of a
        # refused handshake, learns why (the close code) and backs off.
        await ws.prepare(request)
        await ws.close(code=CLOSE_TOO_MANY_SOCKETS, message=b"too many sockets")
        return ws
    sockets = request.app[SOCKETS]
    # Counted before the handshake's await, so that simultaneous handshakes cannot all pass.
    sockets.add(ws)
    mine.add(ws)
    presence = request.app[keys.QUEUE]
    try:
        await ws.prepare(request)
        await presence.connected(who)
        try:
            await Connection(
                ws=ws,
                principal=who,
                ctx=request.app[keys.SIGNALING],
                on_abuse=lambda: cooldowns.start(cooldown_key, settings.abuse_cooldown_s),
            ).run(HANDLERS)
        finally:
            await presence.disconnected(who)
    finally:
        sockets.discard(ws)
        mine.discard(ws)
        if not mine and request.app[USER_SOCKETS].get(who.user_id) is mine:
            del request.app[USER_SOCKETS][who.user_id]
    return ws


async def end_account(app: web.Application, user_id: int) -> int:
    """After a committed deactivation or password reset: close every open socket of the account
    with 1008 (policy violation) — the principal captured when a socket opened would otherwise
    keep subscribing, joining rooms and being offered tickets — then take the officer offline
    and release the offers they hold. Returns how many sockets were closed."""
    open_ = list(app[USER_SOCKETS].get(user_id, ()))
    for ws in open_:
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"account ended")
    await app[keys.QUEUE].account_ended(user_id)
    return len(open_)


async def _close_sockets(app: web.Application) -> None:
    # Without this, shutdown waits for every browser to hang up on its own.
    sockets = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
# The open sockets of each account (user id), so that ending the account closes them.
USER_SOCKETS: web.AppKey[dict[int, set[web.WebSocketResponse]]] = web.AppKey("user_sockets")
COOLDOWNS: web.AppKey[Cooldowns] = web.AppKey("ws_cooldowns", Cooldowns)


def setup(app: web.Application) -> None:
    sockets: set[web.WebSocketResponse] = set()
    app[SOCKETS] = sockets
    app[USER_SOCKETS] = {}
    app[COOLDOWNS] = Cooldowns()
    app.on_shutdown.append(_close_sockets)
    add_route(app, "GET", "/ws", websocket, ANY_USER | GUEST)
