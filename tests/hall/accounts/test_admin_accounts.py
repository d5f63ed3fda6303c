"""Administration of departments (责任单位) and accounts (账号): create, rename, deactivate and
reactivate, with the checks each needs; every change audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hall.accounts import admin as account_admin
from hall.accounts import department_admin, users
from hall.accounts.admin import AccountSpec
from hall.accounts.tables import Department, LoginSession, User
from hall.audit import AuditEntry
from hall.cases import departments
from hall.cases.states import Change, transition
from hall.cases.tables import CaseState
from hall.db import Database
from hall.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from tests.hall.cases.test_case_states import new_case
from tests.hall.cases.test_departments import assign
from tests.support import principal

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
PASSWORD = "初始密码-2026"
S = CaseState


async def admin_id(db: Database) -> int:
    return (await principal(db, "admin")).user_id


async def audits(db: Database, action: str) -> list[AuditEntry]:
    async with db.reader() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def new_department(db: Database, code: str = "jiaoyu", name: str = "县教育局") -> int:
    async with db.transaction() as session:
        row = await department_admin.create(
            session, code=code, name=name, region="本县", by=await admin_id(db), now=NOW
        )
        return row.id


async def test_a_department_is_created_renamed_and_audited(db: Database) -> None:
    dept_id = await new_department(db)
    async with db.transaction() as session:
        await department_admin.rename(
            session, dept_id, name="县教育和体育局", region="", by=None, now=NOW
        )
    async with db.reader() as session:
        listed = {r.department.code: r for r in await department_admin.rows(session)}
    assert listed["jiaoyu"].department.name == "县教育和体育局"
    assert (listed["jiaoyu"].accounts, listed["jiaoyu"].open_cases) == (0, 0)
    assert listed["zhujian"].accounts == 1  # the demo's dept-zhujian
    [created] = await audits(db, "department_created")
    assert created.user_id == await admin_id(db) and created.target_id == str(dept_id)
    [renamed] = await audits(db, "department_renamed")
    assert renamed.detail["before"]["name"] == "县教育局"


@pytest.mark.parametrize(
    ("code", "name", "fields"),
    [
        ("Jiaoyu", "县教育局", {"code"}),
        ("j", "县教育局", {"code"}),
        ("jiaoyu", "局", {"name"}),
        ("教育", "", {"code", "name"}),
    ],
)
async def test_a_bad_department_is_refused(
    db: Database, code: str, name: str, fields: set[str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await new_department(db, code, name)
    assert set(caught.value.fields) == fields


async def test_a_taken_code_or_name_is_a_conflict(db: Database) -> None:
    with pytest.raises(Conflict):
        await new_department(db, "zhujian", "另一个住建局")
    with pytest.raises(Conflict):
        await new_department(db, "zhujian2", "县住房和城乡建设局")
    with pytest.raises(Conflict):  # another department's alias (简称), however spelled
        await new_department(db, "zhujian2", "縣 住建局")
    dept_id = await new_department(db)
    with pytest.raises(Conflict):
        async with db.transaction() as session:
            await department_admin.rename(
                session, dept_id, name="县人社局", region="", by=None, now=NOW
            )
    with pytest.raises(NotFound):
        async with db.transaction() as session:
            await department_admin.rename(session, 999, name="某局", region="", by=None, now=NOW)


async def test_aliases_are_normalised_unique_on_the_register_and_audited(db: Database) -> None:
    async with db.transaction() as session:
        made = await department_admin.create(
            session,
            code="jiaoyu",
            name="县教育局",
            region="本县",
            aliases=[" 县教体局 ", "縣教體局", "县教育局", "教\u200b体局"],
            by=await admin_id(db),
            now=NOW,
        )
    # Stored normalised, each once, never the name itself.
    assert made.aliases == ["县教体局", "教体局"]

    async def aliases_of_jiaoyu(aliases: list[str]) -> None:
        async with db.transaction() as session:
            await department_admin.rename(
                session, made.id, name="县教育局", region=None, aliases=aliases, by=None, now=NOW
            )

    for aliases in (["局"], ["很长" * 40], [f"教育{n}" for n in range(11)]):
        with pytest.raises(InvalidInput) as caught:
            await aliases_of_jiaoyu(aliases)
        assert list(caught.value.fields) == ["aliases"]
    for aliases in (["人社局"], ["县住房和城乡建设局"], ["縣人社局"]):  # another unit's names
        with pytest.raises(Conflict) as taken:
            await aliases_of_jiaoyu(aliases)
        assert taken.value.fields == {"aliases": "taken"}
    async with db.transaction() as session:
        await department_admin.rename(
            session, made.id, name="县教育体育局", region=None, by=None, now=NOW
        )  # omitted aliases are kept
        kept = await department_admin.get(session, made.id)
        assert kept.aliases == ["县教体局", "教体局"]
    renamed = await audits(db, "department_renamed")
    assert renamed[-1].detail["after"]["aliases"] == ["县教体局", "教体局"]
    created = await audits(db, "department_created")
    assert created[-1].detail["aliases"] == ["县教体局", "教体局"]


async def test_a_deactivated_department_keeps_its_cases_but_receives_no_new_one(
    db: Database,
) -> None:
    kept = await new_case(db, 1)
    await assign(db, kept)  # to zhujian
    async with db.reader() as session:
        zhujian = await session.scalar(select(Department).where(Department.code == "zhujian"))
    assert zhujian is not None
    async with db.transaction() as session:
        await department_admin.set_active(session, zhujian.id, active=False, by=None, now=NOW)
    with pytest.raises(Conflict, match="停用"):
        async with db.transaction() as session:
            await department_admin.set_active(session, zhujian.id, active=False, by=None, now=NOW)
    fresh = await new_case(db, 2)
    officer = await principal(db, "officer-urban")
    async with db.transaction() as session:
        await transition(session, officer, fresh, S.TRIAGED, reason="分流", now=NOW)
    to_zhujian = Change(department="zhujian")
    with pytest.raises(InvalidInput) as caught:
        async with db.transaction() as session:
            await transition(
                session, officer, fresh, S.ASSIGNED, reason="交办", now=NOW, change=to_zhujian
            )
    assert caught.value.fields == {"department": "inactive department"}
    dept = await principal(db, "dept-zhujian")  # its account still works on what it has
    async with db.transaction() as session:
        await departments.acknowledge(session, dept, kept, now=NOW)
        listed = [d.code for d in await departments.list_departments(session)]
        rows = {r.department.code: r for r in await department_admin.rows(session)}
    assert "zhujian" not in listed
    assert rows["zhujian"].open_cases == 1 and rows["zhujian"].department.active is False
    async with db.transaction() as session:
        await department_admin.set_active(session, zhujian.id, active=True, by=None, now=NOW)
    async with db.transaction() as session:
        done = await transition(
            session, officer, fresh, S.ASSIGNED, reason="交办", now=NOW, change=to_zhujian
        )
    assert done.case.department_id == zhujian.id
    assert [a.action for a in await audits(db, "department_deactivated")] == [
        "department_deactivated"
    ]


def spec(**overrides: object) -> AccountSpec:
    values: dict[str, object] = {
        "username": "jiaoyu-li",
        "display_name": "李老师",
        "role": "department",
        "password": PASSWORD,
        "department": "renshe",
    }
    values.update(overrides)
    return AccountSpec(**values)  # type: ignore[arg-type]


async def test_an_account_is_created_with_an_argon2_password_and_audited(db: Database) -> None:
    async with db.transaction() as session:
        user = await account_admin.create(session, spec(), by=await admin_id(db), now=NOW)
    async with db.transaction() as session:
        found = await users.authenticate(session, "jiaoyu-li", PASSWORD)
        rows = {r.user.username: r for r in await account_admin.rows(session)}
    assert found.id == user.id and found.password_hash.startswith("$argon2id$")
    assert rows["jiaoyu-li"].department == "县人力资源和社会保障局"
    assert rows["officer-urban"].lines == ["urban"]
    assert (rows["village-zhangzhuang"].terminal, rows["village-zhangzhuang"].village) == (
        "张庄村信息中心",
        "张庄村",
    )
    [created] = await audits(db, "account_created")
    assert created.detail == {"username": "jiaoyu-li", "role": "department"}
    assert PASSWORD not in str(created.detail)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"username": "x"}, {"username"}),
        ({"username": "有空 格"}, {"username"}),
        ({"display_name": " "}, {"display_name"}),
        ({"password": "short"}, {"password"}),
        ({"password": "p" * 257}, {"password"}),  # longer than the login form accepts
        ({"role": "king"}, {"role"}),
        ({"department": None}, {"department"}),
        ({"department": "nowhere"}, {"department"}),
        ({"role": "officer", "department": None}, {"lines"}),
        ({"role": "officer", "department": None, "lines": ("moon",)}, {"lines"}),
        ({"role": "desk", "lines": ("urban",)}, {"lines", "department"}),
        ({"role": "terminal", "department": None}, {"terminal"}),
        ({"role": "terminal", "department": None, "terminal": "atlantis"}, {"terminal"}),
        ({"role": "desk", "department": None, "terminal": "zhangzhuang"}, {"terminal"}),
    ],
)
async def test_a_bad_account_names_each_wrong_field(
    db: Database, changes: dict[str, object], fields: set[str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        async with db.transaction() as session:
            await account_admin.create(session, spec(**changes), by=None, now=NOW)
    assert set(caught.value.fields) == fields
    async with db.reader() as session:
        assert await session.scalar(select(User).where(User.username == "jiaoyu-li")) is None


async def test_a_taken_username_or_an_inactive_department_is_refused(db: Database) -> None:
    with pytest.raises(Conflict):
        async with db.transaction() as session:
            await account_admin.create(session, spec(username="desk"), by=None, now=NOW)
    dept_id = await new_department(db)
    async with db.transaction() as session:
        await department_admin.set_active(session, dept_id, active=False, by=None, now=NOW)
    with pytest.raises(InvalidInput, match="账号信息有误") as caught:
        async with db.transaction() as session:
            await account_admin.create(session, spec(department="jiaoyu"), by=None, now=NOW)
    assert "停用" in caught.value.fields["department"]


async def sessions_of(db: Database, user_id: int) -> int:
    async with db.reader() as session:
        return len(
            list(await session.scalars(select(LoginSession).where(LoginSession.user_id == user_id)))
        )


async def test_a_password_reset_ends_the_sessions_and_the_old_password(db: Database) -> None:
    who = await principal(db, "desk")  # opens a session
    assert await sessions_of(db, who.user_id) == 1
    async with db.transaction() as session:
        await account_admin.reset_password(session, who.user_id, "新的密码-123", by=1, now=NOW)
    assert await sessions_of(db, who.user_id) == 0
    async with db.transaction() as session:
        with pytest.raises(Unauthenticated):
            await users.authenticate(session, "desk", "jiefang-demo")
        assert (await users.authenticate(session, "desk", "新的密码-123")).id == who.user_id
    with pytest.raises(InvalidInput):
        async with db.transaction() as session:
            await account_admin.reset_password(session, who.user_id, "short", by=1, now=NOW)
    with pytest.raises(NotFound):
        async with db.transaction() as session:
            await account_admin.reset_password(session, 999, "新的密码-123", by=1, now=NOW)
    assert len(await audits(db, "account_password_reset")) == 1


async def test_deactivation_ends_sessions_refuses_logins_and_not_oneself(db: Database) -> None:
    admin = await admin_id(db)
    who = await principal(db, "supervisor")
    token_owner = who.user_id
    async with db.transaction() as session:
        token = await users.open_session(
            session,
            await session.get_one(User, token_owner),
            now=NOW,
            lifetime=timedelta(hours=1),
        )
        await account_admin.set_active(session, token_owner, active=False, by=admin, now=NOW)
    async with db.transaction() as session:
        assert await users.principal_for(session, token, now=NOW) is None
        with pytest.raises(Unauthenticated):
            await users.authenticate(session, "supervisor", "jiefang-demo")
    assert await sessions_of(db, token_owner) == 0
    with pytest.raises(Conflict, match="不能停用自己的账号"):
        async with db.transaction() as session:
            await account_admin.set_active(session, admin, active=False, by=admin, now=NOW)
    with pytest.raises(Conflict):
        async with db.transaction() as session:
            await account_admin.set_active(session, token_owner, active=False, by=admin, now=NOW)
    async with db.transaction() as session:
        await account_admin.set_active(session, token_owner, active=True, by=admin, now=NOW)
        assert (await users.authenticate(session, "supervisor", "jiefang-demo")).active
    actions = [a.action for a in await audits(db, "account_deactivated")]
    actions += [a.action for a in await audits(db, "account_reactivated")]
    assert actions == ["account_deactivated", "account_reactivated"]
