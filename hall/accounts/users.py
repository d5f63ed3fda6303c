"""Accounts, argon2 password hashes and server-side login sessions."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import LoginSession, Role, User
from hall.errors import Conflict, InvalidInput, Unauthenticated
from hall.queue.tables import Line

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown user like a known one.
_DUMMY_HASH = _hasher.hash("not-a-password")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request or WebSocket."""

    user_id: int
    username: str
    display_name: str
    role: Role
    line_ids: frozenset[int]
    terminal_id: int | None
    room_id: int | None
    csrf_token: str
    department_id: int | None = None  # 责任单位 of a department account
    # A guest (role `guest`) has no account: `user_id` is minus its invitation id (unique per
    # guest, never a row id) and `invitation_id` names the one invitation it may act on.
    invitation_id: int | None = None

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


PASSWORD_MIN = 8
# Caps on what a login may send, checked before anything else: a longer name cannot exist, and
# argon2 is not fed megabytes.
USERNAME_MAX = 64
PASSWORD_MAX = 256
THROTTLED = "登录失败次数过多，请稍后再试"


def check_password(password: str) -> None:
    """`invalid_input` unless `password` is 8 to 256 characters (the one rule for every new
    password, so that every password set can also be typed into the login form)."""
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(
            f"密码至少{PASSWORD_MIN}位", fields={"password": f"密码至少{PASSWORD_MIN}位"}
        )
    _check_max("password", "密码", password, PASSWORD_MAX)


def check_login_fields(username: str, password: str) -> None:
    """`invalid_input` if the username or password of a login is longer than any can be."""
    _check_max("username", "用户名", username, USERNAME_MAX)
    _check_max("password", "密码", password, PASSWORD_MAX)


def _check_max(name: str, label: str, value: str, cap: int) -> None:
    if len(value) > cap:
        message = f"{label}最长{cap}个字符"
        raise InvalidInput(message, fields={name: message})


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def add_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str,
    now: datetime,
    line_codes: tuple[str, ...] = (),
    terminal_id: int | None = None,
    room_id: int | None = None,
    department_id: int | None = None,
) -> User:
    """Create an account; `conflict` if the username exists, `invalid_input` on a weak password."""
    check_password(password)
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在")
    lines = []
    if line_codes:
        lines = list(await session.scalars(select(Line).where(Line.code.in_(line_codes))))
        if len(lines) != len(set(line_codes)):
            raise InvalidInput("未知条线", fields={"lines": "未知条线"})
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        terminal_id=terminal_id,
        room_id=room_id,
        department_id=department_id,
        created_at=now,
        lines=lines,
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    """The active user with these credentials, else `unauthenticated` (same message either way)."""
    user = await session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None and user.active else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise Unauthenticated("用户名或密码错误") from None
    if user is None or not user.active:
        raise Unauthenticated("用户名或密码错误")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


async def open_session(
    session: AsyncSession, user: User, *, now: datetime, lifetime: timedelta
) -> str:
    """Store a new login session for `user`; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    await session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    return token


async def close_session(session: AsyncSession, token: str) -> None:
    """Forget the login session of `token`; idempotent."""
    await session.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))


async def end_sessions(session: AsyncSession, user_id: int) -> None:
    """Forget every login session of the user (deactivation, password reset); idempotent."""
    await session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


async def principal_for(session: AsyncSession, token: str, *, now: datetime) -> Principal | None:
    """The principal of a live session token, or None if unknown or expired."""
    row = (
        await session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_hash == _token_hash(token))
        )
    ).first()
    if row is None:
        return None
    login, user = row
    if login.expires_at < now or not user.active:
        return None
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        line_ids=frozenset(line.id for line in user.lines),
        terminal_id=user.terminal_id,
        room_id=user.room_id,
        csrf_token=login.csrf_token,
        department_id=user.department_id,
    )


async def users_with_roles(session: AsyncSession, roles: Collection[str]) -> list[User]:
    """The accounts whose role is one of `roles`."""
    return list(await session.scalars(select(User).where(User.role.in_(roles))))
