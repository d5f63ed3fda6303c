"""Administration of responsible departments (责任单位管理): create, rename (with the aliases,
简称 / 别名), deactivate and reactivate; a deactivated department keeps its cases and history but
receives no new case. Each change is audited with its administrator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import audit
from hall.accounts import unit_names
from hall.accounts.tables import Department, User
from hall.cases import states
from hall.cases.tables import Case
from hall.errors import Conflict, InvalidInput, NotFound

CODE = re.compile(r"[a-z][a-z0-9-]{1,31}")
NAME_MIN = 2
NAME_MAX = 64
REGION_MAX = 64
ALIASES_MAX = 10
_OPEN = [s.value for s, nxt in states.TRANSITIONS.items() if nxt]


@dataclass(frozen=True, slots=True)
class DepartmentRow:
    """A department on the admin page, with its accounts and the open cases it handles."""

    department: Department
    accounts: int
    open_cases: int


CODE_RULE = "小写字母开头，2–32位小写字母、数字或连字符"


def _fields(name: str, region: str, *, code: str | None = None) -> tuple[str, str]:
    problems: dict[str, str] = {}
    name, region = name.strip(), region.strip()
    if code is not None and not CODE.fullmatch(code):
        problems["code"] = CODE_RULE
    if not NAME_MIN <= len(name) <= NAME_MAX:
        problems["name"] = f"名称{NAME_MIN}–{NAME_MAX}字"
    if len(region) > REGION_MAX:
        problems["region"] = f"地区至多{REGION_MAX}字"
    if problems:
        raise InvalidInput("责任单位信息有误", fields=problems)
    return name, region


def _aliases(name: str, given: Sequence[str]) -> list[str]:
    """The aliases as stored (`unit_names.normalise`), each once and never the name itself."""
    aliases: list[str] = []
    seen = {unit_names.key(name)}
    for raw in given:
        alias = unit_names.normalise(raw)
        if not NAME_MIN <= len(alias) <= NAME_MAX:
            raise InvalidInput(
                f"简称/别名“{raw.strip()}”须为{NAME_MIN}–{NAME_MAX}字",
                fields={"aliases": f"{NAME_MIN} to {NAME_MAX} characters each"},
            )
        if unit_names.key(alias) not in seen:
            seen.add(unit_names.key(alias))
            aliases.append(alias)
    if len(aliases) > ALIASES_MAX:
        raise InvalidInput(
            f"简称/别名至多{ALIASES_MAX}个", fields={"aliases": f"at most {ALIASES_MAX}"}
        )
    return aliases


async def _names_free(
    session: AsyncSession, name: str, aliases: list[str], *, other_than: int | None = None
) -> None:
    """`conflict` when the name or an alias is (once normalised) a name or alias of another
    department: each name on the register names one unit."""
    query = select(Department)
    if other_than is not None:
        query = query.where(Department.id != other_than)
    taken = {
        unit_names.key(n): d.code
        for d in await session.scalars(query)
        for n in (d.name, *d.aliases)
    }
    if unit_names.key(name) in taken:
        code = taken[unit_names.key(name)]
        raise Conflict(f"名称“{name}”已被责任单位 {code} 使用", fields={"name": "taken"})
    for alias in aliases:
        if unit_names.key(alias) in taken:
            code = taken[unit_names.key(alias)]
            raise Conflict(
                f"简称/别名“{alias}”已被责任单位 {code} 使用", fields={"aliases": "taken"}
            )


async def get(session: AsyncSession, department_id: int) -> Department:
    """The department, or `not_found`."""
    department = await session.get(Department, department_id)
    if department is None:
        raise NotFound(f"责任单位 {department_id} 不存在")
    return department


async def rows(session: AsyncSession) -> list[DepartmentRow]:
    """Every department (active first, then by code) with its account and open-case counts."""
    accounts = dict(
        (
            await session.execute(
                select(User.department_id, func.count())
                .where(User.department_id.is_not(None))
                .group_by(User.department_id)
            )
        ).all()
    )
    open_cases = dict(
        (
            await session.execute(
                select(Case.department_id, func.count())
                .where(Case.department_id.is_not(None), Case.state.in_(_OPEN))
                .group_by(Case.department_id)
            )
        ).all()
    )
    departments = await session.scalars(
        select(Department).order_by(Department.active.desc(), Department.code)
    )
    return [
        DepartmentRow(d, int(accounts.get(d.id, 0)), int(open_cases.get(d.id, 0)))
        for d in departments
    ]


async def create(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    region: str,
    aliases: Sequence[str] = (),
    by: int | None,
    now: datetime,
) -> Department:
    """A new active department; `invalid_input` for a bad code, name or alias, `conflict` if
    the code, the name or an alias is taken (names and aliases compared normalised)."""
    code = code.strip()
    name, region = _fields(name, region, code=code)
    names = _aliases(name, aliases)
    if await session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise Conflict(f"代码 {code} 已存在", fields={"code": "taken"})
    await _names_free(session, name, names)
    department = Department(code=code, name=name, region=region, aliases=names, active=True)
    session.add(department)
    await session.flush()
    await audit.record_change(
        session,
        by,
        now,
        "department_created",
        ("department", department.id),
        {"code": code, "name": name, "region": region, "aliases": names},
    )
    return department


async def rename(
    session: AsyncSession,
    department_id: int,
    *,
    name: str,
    region: str | None,
    aliases: Sequence[str] | None = None,
    by: int | None,
    now: datetime,
) -> Department:
    """Change the name, region and aliases (the code stays: it is in stored events); audited.
    `region` or `aliases` None keeps the stored one."""
    department = await get(session, department_id)
    name, region = _fields(name, department.region if region is None else region)
    names = _aliases(name, department.aliases if aliases is None else aliases)
    await _names_free(session, name, names, other_than=department.id)
    before = {"name": department.name, "region": department.region, "aliases": department.aliases}
    department.name, department.region, department.aliases = name, region, names
    await audit.record_change(
        session,
        by,
        now,
        "department_renamed",
        ("department", department.id),
        {"before": before, "after": {"name": name, "region": region, "aliases": names}},
    )
    await session.flush()
    return department


async def set_active(
    session: AsyncSession, department_id: int, *, active: bool, by: int | None, now: datetime
) -> Department:
    """停用 / 启用. A deactivated department cannot be named by a new transfer or assignment;
    the cases it handles stay with it and its accounts keep working on them. `conflict` if it
    is already in that state."""
    department = await get(session, department_id)
    if department.active == active:
        state = "启用" if active else "停用"
        raise Conflict(f"责任单位 {department.name} 已是{state}状态")
    department.active = active
    action = "department_reactivated" if active else "department_deactivated"
    target = ("department", department.id)
    await audit.record_change(session, by, now, action, target, {"code": department.code})
    await session.flush()
    return department
