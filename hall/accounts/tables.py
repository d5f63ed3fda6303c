"""Accounts, stations and departments: their tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    String,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hall.orm import Base

if TYPE_CHECKING:
    from hall.queue.tables import Line


class Role(StrEnum):
    """Account roles (角色)."""

    TERMINAL = "terminal"  # 村信息中心 信访代办员
    OFFICER = "officer"  # 接谈室 接访人员
    DESK = "desk"  # 登记分流区
    LEADER = "leader"  # 领导
    DEPARTMENT = "department"  # 责任单位
    SUPERVISOR = "supervisor"  # 督查
    ADMIN = "admin"  # 管理员
    DISPLAY = "display"  # 叫号屏: the hall's display board (a TV), sees masked data only
    # 会议嘉宾: the browser of an external meeting invitee, bound to one invitation by a signed
    # link; no account row has this role, and it reaches only that meeting's routes.
    GUEST = "guest"


class Village(Base):
    """A village or township served by an information centre terminal."""

    __tablename__ = "villages"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    township: Mapped[str] = mapped_column(String(64), default="")


class Terminal(Base):
    """A village information centre's station (终端)."""

    __tablename__ = "terminals"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"))


class User(Base):
    """A staff or terminal account."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    lines: Mapped[list[Line]] = relationship("Line", secondary="officer_lines", lazy="selectin")


class LoginSession(Base):
    """A server-side login session; the cookie holds a token whose SHA-256 is the key."""

    __tablename__ = "login_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Department(Base):
    """A responsible department (责任单位) that receives transferred and assigned cases."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64), default="")
    # Other names of the unit (简称 / 别名), as people write them: the 检举控告 rule matches an
    # accused unit against the name and these (`hall.accounts.unit_names`).
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # A deactivated department (停用) keeps its cases and history but receives no new ones.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
