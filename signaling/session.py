"""One WebSocket connection: a reader that dispatches typed frames, a writer that drains a
bounded queue, rate and size limits, and a `finally` that always leaves topics behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from hall.accounts.users import Principal
from hall.db import Database
from hall.errors import HallError
from hall.ports import Clock
from signaling.bus import LocalBus
from signaling.hub import MediaHub
from signaling.ice import browser_ice_servers
from signaling.messages import FrameError, Ref, error_frame, parse_frame, server_frame
from signaling.settings import SignalingSettings

logger = logging.getLogger(__name__)

# Close codes sent by the server (4000-4999 are application codes).
CLOSE_SLOW_CONSUMER = 4008
CLOSE_TOO_MANY_SOCKETS = 4009
CLOSE_ABUSE = 4029


def encode_frame(frame: Mapping[str, Any]) -> str:
    """A frame as JSON text that always encodes as UTF-8: readable Chinese in the common case,
    every non-ASCII character escaped if a string holds a lone surrogate (from a client)."""
    text = json.dumps(frame, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(frame)
    return text


@dataclass(frozen=True, slots=True)
class SignalingContext:
    """Everything a connection needs from the process, wired by the web package."""

    db: Database
    hub: MediaHub
    bus: LocalBus
    clock: Clock
    settings: SignalingSettings
    handle_default_s: int


class _Bucket:
    """Token bucket for the per-connection frame rate."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(eq=False)
class Connection:
    """A signaling connection of one authenticated principal."""

    ws: web.WebSocketResponse
    principal: Principal
    ctx: SignalingContext
    topics: set[str] = field(default_factory=set)
    rooms: set[str] = field(default_factory=set)
    dropped: int = 0
    # Called when the connection is closed for flooding (4029), before the close is sent, so
    # that a reconnect racing the close already finds the cooldown.
    on_abuse: Callable[[], None] | None = None
    _queue: asyncio.Queue[str | None] = field(init=False)
    _closing: bool = False

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue(maxsize=self.ctx.settings.send_queue)

    @property
    def participant_id(self) -> str:
        """The participant name in media rooms and recordings: role-userid."""
        return f"{self.principal.role}-{self.principal.user_id}"

    def deliver(self, frame: Mapping[str, Any]) -> None:
        """Queue a frame; a consumer too slow to keep up is disconnected, never waited for."""
        if self._closing:
            return
        try:
            self._queue.put_nowait(encode_frame(frame))
        except asyncio.QueueFull:
            self.dropped += 1
            self._closing = True
            logger.warning("[user %s] slow consumer, closing", self.principal.user_id)
            asyncio.get_running_loop().create_task(
                self.ws.close(code=CLOSE_SLOW_CONSUMER, message=b"slow consumer")
            )

    def reply(self, kind: str, ref: Ref, **fields: Any) -> None:
        self.deliver(server_frame(kind, ref, **fields))

    def error(self, code: str, message: str, ref: Ref = None) -> None:
        self.deliver(error_frame(code, message, ref))

    def subscribe(self, topic: str) -> None:
        self.topics.add(topic)
        self.ctx.bus.subscribe(topic, self)

    def unsubscribe(self, topic: str) -> None:
        self.topics.discard(topic)
        self.ctx.bus.unsubscribe(topic, self)

    async def _write(self) -> None:
        while True:
            text = await self._queue.get()
            if text is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except ConnectionError:
                return  # the peer is gone; the reader sees the close and cleans up
            except Exception:
                # A writer that died quietly would leave a connection that reads and never
                # answers: log it once and close, so that the client reconnects.
                logger.exception("[user %s] frame could not be sent", self.principal.user_id)
                self._closing = True
                await self.ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"send failed")
                return

    async def run(self, handlers: Mapping[str, Handler]) -> None:
        """Serve the connection until the peer goes; always unsubscribes on the way out."""
        writer = asyncio.create_task(self._write())
        settings = self.ctx.settings
        bucket = _Bucket(settings.rate_per_s, settings.rate_burst)
        over_limit = 0
        self.reply(
            "welcome",
            None,
            user={
                "id": self.principal.user_id,
                "name": self.principal.display_name,
                "role": self.principal.role,
            },
            participant=self.participant_id,
            heartbeat_s=settings.heartbeat_s,
            max_frame_bytes=settings.max_frame_bytes,
            cooldown_s=settings.abuse_cooldown_s,
            ice_servers=browser_ice_servers(settings, user=self.participant_id, now_s=time.time()),
        )
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.ERROR:
                    break
                if not bucket.take():
                    over_limit += 1
                    self.error("rate_limited", "发送过快，请稍后再试")
                    if over_limit > settings.rate_burst * 5:
                        if self.on_abuse is not None:
                            self.on_abuse()
                        await self.ws.close(code=CLOSE_ABUSE, message=b"rate limit")
                        break
                    continue
                if msg.type == WSMsgType.BINARY:
                    self.error("bad_json", "不接受二进制帧，请发送JSON文本帧")
                    continue
                if msg.type != WSMsgType.TEXT:
                    continue
                if len(msg.data.encode()) > settings.max_frame_bytes:
                    self.error("frame_too_large", f"帧超过 {settings.max_frame_bytes} 字节的上限")
                    continue
                await self._dispatch(msg.data, handlers)
        finally:
            for topic in list(self.topics):
                self.unsubscribe(topic)
            self._closing = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _dispatch(self, text: str, handlers: Mapping[str, Handler]) -> None:
        ref: Ref = None
        try:
            frame = parse_frame(text)
            ref = frame.ref
            await handlers[frame.type](self, frame)
        except FrameError as exc:
            self.error(exc.code, exc.message, exc.ref)
        except HallError as exc:
            self.error(exc.code, exc.message, ref)
        except Exception:
            logger.exception("[user %s] frame failed", self.principal.user_id)
            self.error("internal_error", "服务器内部错误，已记录", ref)


Handler = Callable[[Connection, Any], Awaitable[None]]
