"""The one WebSocket endpoint: authenticated by the session cookie, served by signaling."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import WSCloseCode, web

from hall.errors import Forbidden
from signaling.handlers import HANDLERS
from signaling.session import Connection
from web import keys
from web.auth import ANY_USER, add_route, principal


async def websocket(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        # Cookies ride along on cross-site WebSocket handshakes; only our own pages may connect.
        raise Forbidden("拒绝来自其他站点的WebSocket连接")
    settings = request.app[keys.CONFIG].signaling
    # aiohttp's own limit is a backstop far above ours, so an oversized frame gets our
    # frame_too_large error instead of a dropped connection.
    ws = web.WebSocketResponse(
        heartbeat=settings.heartbeat_s, max_msg_size=settings.max_frame_bytes * 16
    )
    await ws.prepare(request)
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    mine = request.app[USER_SOCKETS].setdefault(who.user_id, set())
    mine.add(ws)
    presence = request.app[keys.QUEUE]
    await presence.connected(who)
    try:
        await Connection(ws=ws, principal=who, ctx=request.app[keys.SIGNALING]).run(HANDLERS)
    finally:
        sockets.discard(ws)
        mine.discard(ws)
        if not mine and request.app[USER_SOCKETS].get(who.user_id) is mine:
            del request.app[USER_SOCKETS][who.user_id]
        await presence.disconnected(who)
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


def setup(app: web.Application) -> None:
    sockets: set[web.WebSocketResponse] = set()
    app[SOCKETS] = sockets
    app[USER_SOCKETS] = {}
    app.on_shutdown.append(_close_sockets)
    add_route(app, "GET", "/ws", websocket, ANY_USER)
