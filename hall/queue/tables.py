"""Lines, rooms, tickets and officers' availability: the queue's tables."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hall.orm import Base


class TicketState(StrEnum):
    """State of one place in a line's queue (排队号)."""

    WAITING = "waiting"
    OFFERED = "offered"  # offered to one officer, who must accept within the offer timeout
    SERVING = "serving"
    DONE = "done"
    ABANDONED = "abandoned"  # left (or lost its connection beyond the grace window)
    EXPIRED = "expired"  # still waiting when the hall closed the day
    TRANSFERRED = "transferred"  # moved to another line: a new ticket carries on
    NO_SHOW = "no_show"  # missed its call too many times (过号)
    INTERRUPTED = "interrupted"  # its visit was cut by a server restart


class PriorityClass(StrEnum):
    """Priority class of a ticket: a head start in the queue's ordering, never a bypass."""

    NORMAL = "normal"
    PRIORITY = "priority"  # elderly, disabled, pregnant, veteran (老弱病残孕、军人)
    URGENT = "urgent"  # with a recorded reason and approver


class PriorityReason(StrEnum):
    """Why a ticket is in the priority class."""

    ELDERLY = "elderly"
    DISABLED = "disabled"
    PREGNANT = "pregnant"
    VETERAN = "veteran"


class OfficerState(StrEnum):
    """Availability of an officer (接访人员状态)."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    BUSY = "busy"
    WRAP_UP = "wrap_up"  # after a visit; ends by itself after the wrap-up time
    AWAY = "away"  # with a reason


class Channel(StrEnum):
    """How a ticket entered the queue."""

    REMOTE = "remote"  # 远程视频
    WALK_IN = "walk_in"  # 现场
    APPOINTMENT = "appointment"  # 预约
    TRANSFER = "transfer"  # 转办


class Line(Base):
    """A line (条线) of the hall: one of the seven reception lines."""

    __tablename__ = "lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    letter: Mapped[str] = mapped_column(String(1), unique=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    auto_offer: Mapped[bool] = mapped_column(Boolean, default=False)


class Room(Base):
    """A reception room (接谈室) or function room of the hall."""

    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), default="reception")
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id"))


class OfficerLine(Base):
    """Which lines an officer serves."""

    __tablename__ = "officer_lines"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), primary_key=True)


class Ticket(Base):
    """One place in a line's queue (排队号).

    Ordering: a waiting ticket's `rank_at` is `effective_start` minus its class's head start, so
    the best ticket has the smallest `rank_at` (score = waited seconds + head start).
    """

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("line_id", "day", "seq"),
        Index("ix_tickets_line_state_rank", "line_id", "state", "rank_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    petitioner_id: Mapped[int] = mapped_column(ForeignKey("petitioners.id"))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    head_count: Mapped[int] = mapped_column(Integer, default=1)
    priority_class: Mapped[str] = mapped_column(String(16), default=PriorityClass.NORMAL)
    priority_reason: Mapped[str] = mapped_column(String(200), default="")
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    effective_start: Mapped[datetime]
    rank_at: Mapped[datetime]
    created_at: Mapped[datetime]
    called_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    missed_count: Mapped[int] = mapped_column(Integer, default=0)
    preferred_officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    preferred_until: Mapped[datetime | None]
    offered_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    offer_expires_at: Mapped[datetime | None]
    disconnected_at: Mapped[datetime | None]
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))


class TicketExclusion(Base):
    """Recusal (回避): an officer who must not serve this ticket."""

    __tablename__ = "ticket_exclusions"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")


class OfficerStatus(Base):
    """An officer's current availability; `idle_since` orders auto-offers (longest idle first)."""

    __tablename__ = "officer_status"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=OfficerState.OFFLINE)
    reason: Mapped[str] = mapped_column(String(100), default="")
    since: Mapped[datetime]
    idle_since: Mapped[datetime | None]
    wrap_up_until: Mapped[datetime | None]


class TicketEvent(Base):
    """Append-only queue log (queue_log style): one row per ticket transition.

    `line_id` is the ticket's line at the time of the event, so per-line figures need no join.
    """

    __tablename__ = "ticket_events"
    __table_args__ = (
        Index("ix_ticket_events_line_at", "line_id", "at"),
        # "the line's latest answers" (the priority quota) is one short index range
        Index("ix_ticket_events_line_kind_id", "line_id", "kind", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
