"""Typed signaling frames: every client frame is parsed here, with a precise reason on failure."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

# A client's `ref` is echoed back, so it must survive encoding: a string of at most REF_MAX_CHARS
# (pydantic refuses lone surrogates), an integer a browser holds exactly (|ref| < 2^53).
REF_MAX_CHARS = 128
REF_INT_MAX = 2**53 - 1
Ref = (
    Annotated[StrictStr, Field(max_length=REF_MAX_CHARS)]
    | Annotated[StrictInt, Field(ge=-REF_INT_MAX, le=REF_INT_MAX)]
    | None
)
TOPIC_PATTERN = r"^(ticket|visit|officer|meeting):[0-9]{1,12}$|^line:[a-z]{2,32}$|^board$"
ROOM_PATTERN = r"^visit-[0-9]{1,12}$"


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ref: Ref = None


class Ping(_Frame):
    """Application heartbeat; answered by `pong`."""

    type: Literal["ping"]


class Subscribe(_Frame):
    """Receive live events of a topic; answered by `subscribed` and a first snapshot event."""

    type: Literal["subscribe"]
    topic: Annotated[str, Field(pattern=TOPIC_PATTERN)]


class Unsubscribe(_Frame):
    """Stop receiving a topic's events."""

    type: Literal["unsubscribe"]
    topic: Annotated[str, Field(pattern=TOPIC_PATTERN)]


class Join(_Frame):
    """Enter a media room (a live visit) before sending an offer."""

    type: Literal["join"]
    room: Annotated[str, Field(pattern=ROOM_PATTERN)]


class Offer(_Frame):
    """The browser's SDP offer for its one peer connection to the server."""

    type: Literal["offer"]
    room: Annotated[str, Field(pattern=ROOM_PATTERN)]
    sdp: Annotated[str, Field(min_length=10, max_length=60000)]


class Leave(_Frame):
    """Leave a media room; the peer connection is closed."""

    type: Literal["leave"]
    room: Annotated[str, Field(pattern=ROOM_PATTERN)]


ClientFrame = Annotated[
    Ping | Subscribe | Unsubscribe | Join | Offer | Leave, Field(discriminator="type")
]
CLIENT_TYPES = ("ping", "subscribe", "unsubscribe", "join", "offer", "leave")
SERVER_TYPES = (
    "welcome",
    "pong",
    "subscribed",
    "unsubscribed",
    "event",
    "joined",
    "answer",
    "left",
    "error",
)
_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
_ref_adapter: TypeAdapter[Ref] = TypeAdapter(Ref)


class FrameError(Exception):
    """A client frame that cannot be parsed: `code` is a protocol error code."""

    def __init__(self, code: str, message: str, ref: Ref = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


def parse_frame(text: str) -> Ping | Subscribe | Unsubscribe | Join | Offer | Leave:
    """Parse a client frame; raises FrameError (`bad_json`, `unknown_type`, `invalid_field`)."""
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FrameError("bad_json", f"帧不是合法的JSON：{exc.msg}（第{exc.pos}字符）") from None
    except ValueError:  # an integer of more than 4,300 digits
        raise FrameError("bad_json", "帧中的数字过长") from None
    except RecursionError:
        raise FrameError("bad_json", "帧的JSON嵌套过深") from None
    if not isinstance(raw, dict):
        raise FrameError("bad_json", "帧必须是JSON对象")
    ref = _echoable(raw.get("ref"))
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise FrameError("invalid_field", "缺少字段 type", ref)
    if kind not in CLIENT_TYPES:
        raise FrameError("unknown_type", f"未知的帧类型：{kind[:40]}", ref)
    try:
        return _adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or kind
        raise FrameError("invalid_field", f"字段 {where} 无效：{first['msg']}", ref) from None


def _echoable(given: Any) -> Ref:
    """The client's `ref` if it is a valid one (an error answering the frame carries it)."""
    try:
        return _ref_adapter.validate_python(given)
    except ValidationError:
        return None


def server_frame(kind: str, ref: Ref = None, **fields: Any) -> dict[str, Any]:
    """A server frame as a dict (`type` first, `ref` only when answering a client frame)."""
    frame: dict[str, Any] = {"type": kind}
    if ref is not None:
        frame["ref"] = ref
    frame.update(fields)
    return frame


def error_frame(code: str, message: str, ref: Ref = None) -> dict[str, Any]:
    """The one error shape: {"type": "error", "ref", "error": {"code", "message"}}."""
    return server_frame("error", ref, error={"code": code, "message": message})
