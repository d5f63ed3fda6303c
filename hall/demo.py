"""Reference data of every install (lines, rooms) and the embedded demo mode's sample data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Department, Role, Terminal, User, Village
from hall.accounts.users import add_user
from hall.queue.lines import FUNCTION_ROOMS, LINES
from hall.queue.tables import Line, Room

DEMO_PASSWORD = "jiefang-demo"  # noqa: S105 - demo mode only, printed at start-up

DEMO_VILLAGES: tuple[tuple[str, str, str], ...] = (
    ("zhangzhuang", "张庄村", "城关镇"),
    ("lijiawan", "李家湾村", "河西乡"),
    ("wangqiao", "王桥社区", "新城街道"),
)

# Responsible departments (责任单位): code, full name, region, aliases (简称); each gets the
# account dept-<code>.
DEMO_DEPARTMENTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("zhujian", "县住房和城乡建设局", "本县", ("县住建局", "住建局")),
    ("renshe", "县人力资源和社会保障局", "本县", ("县人社局", "人社局")),
)


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """One demo account to print at start-up."""

    role: str
    username: str
    password: str
    what: str


async def ensure_reference_data(session: AsyncSession) -> None:
    """The seven lines, their reception rooms and the function rooms; idempotent."""
    existing = set(await session.scalars(select(Line.code)))
    for sort, spec in enumerate(LINES):
        if spec.code not in existing:
            line = Line(code=spec.code, name=spec.name, letter=spec.letter, sort=sort)
            session.add(line)
            await session.flush()
            session.add(Room(code=f"{spec.code}-1", name=f"{spec.name}接谈室", line_id=line.id))
    rooms = set(await session.scalars(select(Room.code)))
    for code, name, kind in FUNCTION_ROOMS:
        if code not in rooms:
            session.add(Room(code=code, name=name, kind=kind))
    await session.flush()


async def seed_demo(session: AsyncSession, *, now: datetime) -> list[DemoLogin]:
    """Villages, terminals and one account per role; idempotent. Returns the logins to print."""
    logins: list[DemoLogin] = []
    villages = {v.code: v for v in await session.scalars(select(Village))}
    for code, name, township in DEMO_VILLAGES:
        if code not in villages:
            village = Village(code=code, name=name, township=township)
            session.add(village)
            await session.flush()
            villages[code] = village
    terminals = {t.code: t for t in await session.scalars(select(Terminal))}
    for code, name, _ in DEMO_VILLAGES:
        if code not in terminals:
            terminal = Terminal(code=code, name=f"{name}信息中心", village_id=villages[code].id)
            session.add(terminal)
            await session.flush()
            terminals[code] = terminal
    users = set(await session.scalars(select(User.username)))
    rooms = {r.code: r for r in await session.scalars(select(Room))}

    async def ensure(
        username: str,
        role: Role,
        name: str,
        what: str,
        *,
        lines: tuple[str, ...] = (),
        terminal_id: int | None = None,
        room_id: int | None = None,
        department_id: int | None = None,
    ) -> None:
        if username not in users:
            await add_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=name,
                now=now,
                line_codes=lines,
                terminal_id=terminal_id,
                room_id=room_id,
                department_id=department_id,
            )
        logins.append(DemoLogin(role, username, DEMO_PASSWORD, what))

    for code, name, _ in DEMO_VILLAGES:
        await ensure(
            f"village-{code}",
            Role.TERMINAL,
            f"{name}代办员",
            f"{name}信息中心终端",
            terminal_id=terminals[code].id,
        )
    for spec in LINES:
        await ensure(
            f"officer-{spec.code}",
            Role.OFFICER,
            f"{spec.name}接访员",
            f"{spec.name}接谈室",
            lines=(spec.code,),
            room_id=rooms[f"{spec.code}-1"].id,
        )
    await ensure("desk", Role.DESK, "登记分流员", "登记分流区")
    await ensure("leader", Role.LEADER, "值班领导", "领导接访")
    await ensure("supervisor", Role.SUPERVISOR, "督查员", "督查")
    await ensure("admin", Role.ADMIN, "系统管理员", "管理")
    await ensure("hall-board", Role.DISPLAY, "大厅叫号屏", "叫号屏（/board）")
    departments = {d.code: d for d in await session.scalars(select(Department))}
    for code, name, region, aliases in DEMO_DEPARTMENTS:
        if code not in departments:
            departments[code] = Department(
                code=code, name=name, region=region, aliases=list(aliases)
            )
            session.add(departments[code])
            await session.flush()
        await ensure(
            f"dept-{code}",
            Role.DEPARTMENT,
            f"{name}经办人",
            f"{name}（责任单位）",
            department_id=departments[code].id,
        )
    return logins
