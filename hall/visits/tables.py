"""Visits (接访) and their recordings: their tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from hall.orm import Base


class VisitState(StrEnum):
    """State of a visit (接访)."""

    LIVE = "live"
    ENDED = "ended"
    MISSED = "missed"  # the visitor did not come to the call (过号)
    INTERRUPTED = "interrupted"


class Outcome(StrEnum):
    """How a visit ended (接谈结果)."""

    ANSWERED = "answered"  # 当场答复
    ACCEPTED = "accepted"  # 登记受理
    TRANSFERRED = "transferred"  # 转送责任单位
    REDIRECTED = "redirected"  # 导入法定程序
    EXPLAINED = "explained"  # 解释说明


class RecordingState(StrEnum):
    """State of a recording row: processing until post-processing finished."""

    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    DISCARDED = "discarded"  # verified and hashed, then deleted by the retention setting


class Visit(Base):
    """One reception (接访): from call to end, with its media room, notes and outcome.

    One visit per call: a ticket called again after a missed call (过号) has several.
    """

    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str] = mapped_column(Text, default="")


class Recording(Base):
    """A recording (录音录像) of a visit: per-participant files and the composite, hashed."""

    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # participant | composite
    participant: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    streams: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    # 录制因服务中断而截止: the file was cut short by a server crash and salvaged at restart.
    salvaged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
