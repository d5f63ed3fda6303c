"""Administration of accounts (账号管理): list, create with an initial password, reset a password,
deactivate and reactivate. A deactivated account's sessions end and it cannot log in; an
administrator cannot deactivate their own account. Each change is audited (never the password).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import audit
from hall.accounts import users
from hall.accounts.tables import Department, Role, Terminal, User, Village
from hall.errors import Conflict, InvalidInput, NotFound

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")
USERNAME_RULE = "3–64位字母、数字、点、下划线或连字符，以字母或数字开头"
DISPLAY_MAX = 64
# Which roles are bound to what: officers serve lines (leaders may), terminals sit in a village
# station, department accounts act for one department.
LINE_ROLES = frozenset({Role.OFFICER, Role.LEADER})
# Roles an account may have: a guest is a link's browser session, never an account.
ACCOUNT_ROLES = tuple(r.value for r in Role if r != Role.GUEST)


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """A new account as the form or the CLI gives it (codes, not ids)."""

    username: str
    display_name: str
    role: str
    password: str
    lines: tuple[str, ...] = ()
    terminal: str | None = None
    department: str | None = None


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account on the admin page: role and what it is bound to."""

    user: User
    lines: list[str]
    terminal: str | None
    village: str | None
    department: str | None
    department_active: bool = True


async def rows(session: AsyncSession) -> list[AccountRow]:
    """Every account, by role then username, with its lines, station and department."""
    terminals = {
        t.id: (t.name, v.name)
        for t, v in await session.execute(
            select(Terminal, Village).join(Village, Village.id == Terminal.village_id)
        )
    }
    departments = {d.id: d for d in await session.scalars(select(Department))}
    result = []
    for user in await session.scalars(select(User).order_by(User.role, User.username)):
        station = terminals.get(user.terminal_id) if user.terminal_id else None
        department = departments.get(user.department_id) if user.department_id else None
        result.append(
            AccountRow(
                user=user,
                lines=sorted(line.code for line in user.lines),
                terminal=station[0] if station else None,
                village=station[1] if station else None,
                department=department.name if department else None,
                department_active=department.active if department else True,
            )
        )
    return result


async def terminals(session: AsyncSession) -> list[tuple[str, str]]:
    """Every village station (code, name) a terminal account may be bound to, by code."""
    return [
        (t.code, t.name) for t in await session.scalars(select(Terminal).order_by(Terminal.code))
    ]


async def _get(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"账号 {user_id} 不存在")
    return user


def _role(value: str, problems: dict[str, str]) -> Role | None:
    if value in ACCOUNT_ROLES:
        return Role(value)
    problems["role"] = "未知角色：" + ", ".join(ACCOUNT_ROLES)
    return None


def _bindings(spec: AccountSpec, role: Role | None, problems: dict[str, str]) -> None:
    """Each role names exactly what it is bound to, and nothing else."""
    if role is None:
        return
    if role == Role.OFFICER and not spec.lines:
        problems["lines"] = "接访人员须至少分配一个条线"
    elif spec.lines and role not in LINE_ROLES:
        problems["lines"] = "只有接访人员和领导分配条线"
    if role == Role.TERMINAL and not spec.terminal:
        problems["terminal"] = "终端账号须绑定村信息中心"
    elif spec.terminal and role != Role.TERMINAL:
        problems["terminal"] = "只有终端账号绑定村信息中心"
    if role == Role.DEPARTMENT and not spec.department:
        problems["department"] = "责任单位账号须选择责任单位"
    elif spec.department and role != Role.DEPARTMENT:
        problems["department"] = "只有责任单位账号选择责任单位"


async def _resolve(
    session: AsyncSession, spec: AccountSpec, problems: dict[str, str]
) -> tuple[int | None, int | None]:
    """The terminal and department ids the spec names (unknown or inactive ones are problems)."""
    terminal_id = department_id = None
    if spec.terminal and "terminal" not in problems:
        terminal_id = await session.scalar(
            select(Terminal.id).where(Terminal.code == spec.terminal)
        )
        if terminal_id is None:
            problems["terminal"] = f"未知终端：{spec.terminal}"
    if spec.department and "department" not in problems:
        department = await session.scalar(
            select(Department).where(Department.code == spec.department)
        )
        if department is None:
            problems["department"] = f"未知责任单位：{spec.department}"
        elif not department.active:
            problems["department"] = f"责任单位 {department.name} 已停用"
        else:
            department_id = department.id
    return terminal_id, department_id


async def create(
    session: AsyncSession, spec: AccountSpec, *, by: int | None, now: datetime
) -> User:
    """Create an account with its initial password (argon2, `users.add_user`); audited.

    `invalid_input` lists every wrong field (username, display name, role, password, and the
    binding each role needs: lines for officers, a terminal, a department); `conflict` if the
    username exists.
    """
    problems: dict[str, str] = {}
    username, display = spec.username.strip(), spec.display_name.strip()
    if not USERNAME.fullmatch(username):
        problems["username"] = USERNAME_RULE
    if not 1 <= len(display) <= DISPLAY_MAX:
        problems["display_name"] = f"请填写姓名或名称（1–{DISPLAY_MAX}字）"
    try:
        users.check_password(spec.password)
    except InvalidInput as exc:
        problems.update(exc.fields)
    role = _role(spec.role, problems)
    _bindings(spec, role, problems)
    terminal_id, department_id = await _resolve(session, spec, problems)
    if problems or role is None:
        raise InvalidInput("账号信息有误", fields=problems)
    user = await users.add_user(
        session,
        username=username,
        password=spec.password,
        role=role,
        display_name=display,
        now=now,
        line_codes=spec.lines,
        terminal_id=terminal_id,
        department_id=department_id,
    )
    await audit.record_change(
        session,
        by,
        now,
        "account_created",
        ("user", user.id),
        {"username": username, "role": role.value},
    )
    return user


async def reset_password(
    session: AsyncSession, user_id: int, password: str, *, by: int | None, now: datetime
) -> User:
    """Set a new password; the account's sessions end (it logs in again with the new one)."""
    user = await _get(session, user_id)
    users.check_password(password)
    user.password_hash = users.hash_password(password)
    await users.end_sessions(session, user.id)
    await audit.record_change(
        session, by, now, "account_password_reset", ("user", user.id), {"username": user.username}
    )
    await session.flush()
    return user


async def set_active(
    session: AsyncSession, user_id: int, *, active: bool, by: int, now: datetime
) -> User:
    """停用 / 启用 an account. Deactivating ends its sessions at once and refuses its logins;
    `conflict` for the caller's own account or when it is already in that state."""
    user = await _get(session, user_id)
    if not active and user.id == by:
        raise Conflict("不能停用自己的账号")
    if user.active == active:
        raise Conflict(f"账号 {user.username} 已是{'启用' if active else '停用'}状态")
    user.active = active
    if not active:
        await users.end_sessions(session, user.id)
    action = "account_reactivated" if active else "account_deactivated"
    detail = {"username": user.username}
    await audit.record_change(session, by, now, action, ("user", user.id), detail)
    await session.flush()
    return user
