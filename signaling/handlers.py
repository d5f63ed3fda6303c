"""One handler per client frame type; each answers with its reply frame or raises a coded error."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hall.accounts.tables import Role
from hall.errors import Conflict, Forbidden, NotFound
from hall.meetings import lobby, scheduling
from hall.queue import live, officers
from hall.visits import visits
from signaling.hub import MediaHubError, SessionDescription
from signaling.messages import Join, Leave, Offer, Ping, Subscribe, Unsubscribe
from signaling.session import Connection, Handler

logger = logging.getLogger(__name__)
# Roles that serve visits and so have an `officer:<own id>` state channel.
SERVING = frozenset({Role.OFFICER, Role.LEADER})


class UnknownRoom(NotFound):
    """The media room does not exist (no such visit)."""

    code = "unknown_room"


class NotJoined(Conflict):
    """An offer or leave for a room the connection has not joined."""

    code = "not_joined"


class MediaFailed(Conflict):
    """The server could not negotiate media for the offer."""

    code = "media_failed"


async def on_ping(conn: Connection, frame: Ping) -> None:
    conn.reply("pong", frame.ref)


async def on_subscribe(conn: Connection, frame: Subscribe) -> None:
    kind, _, key = frame.topic.partition(":")
    ctx = conn.ctx
    snapshot: tuple[str, Mapping[str, object]] | None = None
    if conn.principal.role == Role.GUEST and kind != "meeting":
        # A guest's browser follows its one meeting, nothing else of the hall.
        raise Forbidden("会议嘉宾只能订阅所参加会议的频道")
    async with ctx.db.reader() as session:
        if kind == "meeting":
            meeting = await scheduling.viewable(session, conn.principal, int(key))
            snapshot = ("meeting", await lobby.snapshot(session, meeting))
        elif kind == "ticket":
            status = await live.ticket_status(
                session, conn.principal, int(key), handle_default_s=ctx.handle_default_s
            )
            snapshot = ("ticket_status", status)
        elif kind == "line":
            line = await live.may_watch_line(session, conn.principal, key)
            snapshot = ("queue", await live.line_snapshot(session, line))
        elif kind == "officer":
            if conn.principal.role not in SERVING or int(key) != conn.principal.user_id:
                raise Forbidden("只能订阅自己的接访人员频道")
            row = await officers.status_of(session, int(key), now=ctx.clock.now())
            snapshot = (
                "officer_state",
                {
                    "state": row.state,
                    "reason": row.reason,
                    "since": row.since.isoformat() if row.since else None,
                    "wrap_up_until": row.wrap_up_until.isoformat() if row.wrap_up_until else None,
                },
            )
        elif kind == "board":
            live.may_watch_board(conn.principal)
            snapshot = (
                "board",
                {
                    "calls": await live.recent_calls(session),
                    "counts": await live.board_counts(session),
                },
            )
        elif kind == "visit":
            await visits.may_watch(session, conn.principal, int(key))
    conn.subscribe(frame.topic)
    conn.reply("subscribed", frame.ref, topic=frame.topic)
    if snapshot is not None:
        name, data = snapshot
        conn.reply("event", None, topic=frame.topic, name=name, data=dict(data))


async def on_unsubscribe(conn: Connection, frame: Unsubscribe) -> None:
    conn.unsubscribe(frame.topic)
    conn.reply("unsubscribed", frame.ref, topic=frame.topic)


async def on_join(conn: Connection, frame: Join) -> None:
    visit_id = visits.visit_id_of_room(frame.room)
    if visit_id is None:
        raise UnknownRoom(f"未知房间：{frame.room}")
    async with conn.ctx.db.reader() as session:
        try:
            await visits.may_join(session, conn.principal, visit_id)
        except NotFound:
            raise UnknownRoom(f"未知房间：{frame.room}") from None
    conn.rooms.add(frame.room)
    conn.reply(
        "joined",
        frame.ref,
        room=frame.room,
        participant=conn.participant_id,
        participants=conn.ctx.hub.participants(frame.room),
        recording=True,
    )


async def on_offer(conn: Connection, frame: Offer) -> None:
    if frame.room not in conn.rooms:
        raise NotJoined(f"尚未加入房间 {frame.room}，请先发送 join")
    try:
        answer = await conn.ctx.hub.publish(
            frame.room, conn.participant_id, SessionDescription(sdp=frame.sdp, type="offer")
        )
    except MediaHubError as exc:
        logger.warning("[%s] offer failed: %s", frame.room, exc)
        raise MediaFailed(f"媒体协商失败：{exc}") from None
    conn.reply("answer", frame.ref, room=frame.room, sdp=answer.sdp, sdp_type=answer.type)


async def on_leave(conn: Connection, frame: Leave) -> None:
    if frame.room not in conn.rooms:
        raise NotJoined(f"尚未加入房间 {frame.room}")
    conn.rooms.discard(frame.room)
    await conn.ctx.hub.leave(frame.room, conn.participant_id)
    conn.reply("left", frame.ref, room=frame.room)


HANDLERS: Mapping[str, Handler] = {
    "ping": on_ping,
    "subscribe": on_subscribe,
    "unsubscribe": on_unsubscribe,
    "join": on_join,
    "offer": on_offer,
    "leave": on_leave,
}
ERROR_CODES = (
    "bad_json",
    "unknown_type",
    "invalid_field",
    "frame_too_large",
    "rate_limited",
    "forbidden",
    "not_found",
    "unknown_room",
    "not_joined",
    "conflict",
    "media_failed",
    "internal_error",
)
