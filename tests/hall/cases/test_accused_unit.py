"""The 检举控告 guard does not depend on spelling: an accused unit named by its full name, an
alias (简称), in traditional characters, with zero-width or full-width characters or spaces is
that unit, and the case never goes to it — unless a supervisor overrides with a reason, which
is recorded on the case (staff-only) and in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hall.accounts import department_admin
from hall.accounts.tables import Department
from hall.audit import AuditEntry
from hall.cases import cases, departments, links
from hall.cases.states import Change, transition
from hall.cases.tables import Case, CaseEvent, CaseState
from hall.db import Database
from hall.errors import AccusedUnit, Forbidden, InvalidInput
from tests.hall.cases.test_case_states import MARCH, new_case, walk
from tests.support import principal

S = CaseState
ZHUJIAN = "县住房和城乡建设局"  # the demo register: aliases 县住建局, 住建局
# Every way the probe (and a hurried officer) wrote the same unit.
SPELLINGS = [
    "县住房和城乡建设局",
    "住建局",
    "县住建局",
    "縣住建局",  # traditional
    "縣住房和城鄉建設局",
    "县住建局\u200b",  # zero-width space
    "\u200c县\u200d住建局\ufeff",
    "  县 住建 局  ",  # spaces
    "\u3000县住建局\u3000",  # full-width (ideographic) spaces
    "县住建局\uff08城建股\uff09",  # full-width brackets: a sub-unit of the accused
    "县住房城乡建设局",  # one character short of the full name
]
# Near misses: other units that share characters with it, never taken for it.
NEAR_MISSES = ["县人社局", "县人力资源和社会保障局", "县住房公积金管理中心", "县城市管理局"]


async def assign(db: Database, case_id: int, change: Change, who: str = "officer-urban") -> None:
    async with db.transaction() as session:
        await transition(
            session,
            await principal(db, who),
            case_id,
            S.ASSIGNED,
            reason="交办",
            now=MARCH,
            change=change,
        )


async def accuse_and_assign(db: Database, case_id: int, accused: str, department: str) -> None:
    await assign(
        db,
        case_id,
        Change(classification="accusation", accused_name=accused, department=department),
    )


async def triaged(db: Database, n: int = 1) -> int:
    case_id = await new_case(db, n)
    await walk(db, case_id, [(S.TRIAGED, Change())])
    return case_id


async def department_id(db: Database, code: str) -> int:
    async with db.reader() as session:
        found = await session.scalar(select(Department.id).where(Department.code == code))
    assert found is not None
    return found


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_every_spelling_is_refused_to_the_accused_unit(db: Database, spelling: str) -> None:
    case_id = await triaged(db)
    with pytest.raises(AccusedUnit) as err:
        await accuse_and_assign(db, case_id, spelling, "zhujian")
    assert err.value.code == "accused_unit" and ZHUJIAN in err.value.message
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        assert (case.state, case.department_id, case.accused_name) == ("triaged", None, None)
    await accuse_and_assign(db, case_id, spelling, "renshe")  # another unit may handle it


@pytest.mark.parametrize("near_miss", NEAR_MISSES)
async def test_a_near_miss_is_not_the_accused_unit(db: Database, near_miss: str) -> None:
    case_id = await triaged(db)
    await accuse_and_assign(db, case_id, near_miss, "zhujian")
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
    assert case.department_id == await department_id(db, "zhujian")
    assert case.accused_department_id != await department_id(db, "zhujian")


async def test_free_text_is_normalised_and_resolved_to_the_register(db: Database) -> None:
    resolved = {
        "縣住建局": "zhujian",
        "县住建局\u200b": "zhujian",
        " 县 住 房 和 城 乡 建 设 局 ": "zhujian",
        "县住房城乡建设局": "zhujian",  # fuzzy: one character short
        "县人社局": "renshe",  # the near miss of 县住建局 is 县人社局 itself
    }
    kept = {
        "县住建局（城建股）": "县住建局(城建股)",  # a sub-unit: refused to 住建, kept as written
        " 城关镇\u200b人民 政府 ": "城关镇人民政府",
        "縣交通運輸局": "县交通运输局",
    }
    n = 1
    for text, code in resolved.items():
        case_id = await triaged(db, n := n + 1)
        await accuse_and_assign(db, case_id, text, "renshe" if code == "zhujian" else "zhujian")
        async with db.reader() as session:
            case = await session.get_one(Case, case_id)
        assert (case.accused_department_id, case.accused_name) == (
            await department_id(db, code),
            None,
        ), text
    for text, stored in kept.items():
        case_id = await triaged(db, n := n + 1)
        await accuse_and_assign(db, case_id, text, "renshe")
        async with db.reader() as session:
            case = await session.get_one(Case, case_id)
        assert (case.accused_department_id, case.accused_name) == (None, stored), text


async def test_a_department_whose_name_matches_the_picked_unit_is_refused(db: Database) -> None:
    # A second register entry spelled almost like the first (a duplicate, or a renamed unit).
    async with db.transaction() as session:
        await department_admin.create(
            session, code="zhujian-old", name="县住房与城乡建设局", region="", by=None, now=MARCH
        )
    case_id = await triaged(db)
    step = Change(
        classification="accusation", accused_department="zhujian", department="zhujian-old"
    )
    with pytest.raises(AccusedUnit):
        await assign(db, case_id, step)


async def test_a_supervisor_overrides_with_a_reason_recorded_and_audited(db: Database) -> None:
    case_id = await triaged(db)
    reason = "经局务会研究，由住建局自查"
    for who, override, error in [
        ("officer-urban", reason, Forbidden),
        ("leader", reason, Forbidden),
        ("supervisor", " ", InvalidInput),
        ("supervisor", None, AccusedUnit),
    ]:
        with pytest.raises(error):
            await assign_with_override(db, case_id, who, override)
    await assign_with_override(db, case_id, "supervisor", reason)
    supervisor = await principal(db, "supervisor")
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        events = list(
            await session.scalars(
                select(CaseEvent).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind == "accused_unit_overridden"
                )
            )
        )
        audit = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "accused_unit_overridden")
            )
        )
    assert case.department_id == await department_id(db, "zhujian")
    assert [(e.visibility, e.actor_id, e.data["reason"]) for e in events] == [
        ("staff", supervisor.user_id, reason)
    ]
    assert events[0].data["department"] == {"code": "zhujian", "name": ZHUJIAN}
    assert [(a.user_id, a.target_type, a.target_id) for a in audit] == [
        (supervisor.user_id, "case", str(case_id))
    ]
    assert audit[0].detail["reason"] == reason
    # The department works on the case it was given; the override stays the bureau's.
    dept = await principal(db, "dept-zhujian")
    async with db.transaction() as session:
        await departments.acknowledge(session, dept, case_id, now=MARCH)
        await departments.reply(session, dept, case_id, outcome="explain", text="已自查", now=MARCH)
        view = await cases.case_view(session, dept, case_id)
    assert "accused_unit_overridden" not in [e.kind for e in view.events]


async def assign_with_override(db: Database, case_id: int, who: str, override: str | None) -> None:
    accuse = Change(
        classification="accusation",
        accused_name="住建局",
        department="zhujian",
        accused_override=override,
    )
    await assign(db, case_id, accuse, who)


async def test_an_objection_and_reassignment_keep_the_rule(db: Database) -> None:
    case_id = await triaged(db)
    await accuse_and_assign(db, case_id, "縣住建局", "renshe")
    dept = await principal(db, "dept-renshe")
    async with db.transaction() as session:
        await departments.object_to(session, dept, case_id, ground="不属本单位职责", now=MARCH)
    with pytest.raises(AccusedUnit):
        await walk(db, case_id, [(S.ASSIGNED, Change(department="zhujian"))])
    await walk(db, case_id, [(S.TRANSFERRED, Change(department="renshe"))])


async def test_a_case_with_the_unit_is_not_then_classified_as_accusing_it(db: Database) -> None:
    case_id = await triaged(db)
    await walk(db, case_id, [(S.ASSIGNED, Change(department="zhujian"))])
    dept = await principal(db, "dept-zhujian")
    async with db.transaction() as session:
        await departments.acknowledge(session, dept, case_id, now=MARCH)
    with pytest.raises(AccusedUnit):
        await walk(
            db, case_id, [(S.ACCEPTED, Change(classification="accusation", accused_name="住建局"))]
        )


async def merge(
    db: Database, who: str, case_id: int, into: int, override: str | None = None
) -> None:
    async with db.transaction() as session:
        await links.merge(
            session,
            await principal(db, who),
            case_id,
            into,
            reason="同一事项",
            now=MARCH,
            accused_override=override,
        )


async def test_merges_carry_the_rule_through_every_level(db: Database) -> None:
    a, b, d = await triaged(db, 1), await triaged(db, 2), await triaged(db, 3)
    accuse = Change(classification="accusation", accused_name="縣住建局\u200b")
    await walk(db, d, [(S.ACCEPTED, accuse)])
    await merge(db, "leader", d, b)  # B is with no department: allowed
    await walk(db, a, [(S.ASSIGNED, Change(department="zhujian"))])
    with pytest.raises(AccusedUnit):
        await merge(db, "leader", b, a)  # B holds D, which accuses 住建, A's unit
    with pytest.raises(Forbidden):
        await merge(db, "leader", b, a, "同一事项，经督查同意")
    await merge(db, "supervisor", b, a, "同一事项，经督查同意")
    async with db.reader() as session:
        assert (await session.get_one(Case, b)).merged_into_id == a
        count = await session.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.kind == "accused_unit_overridden", CaseEvent.case_id == b)
        )
    assert count == 1


async def test_undoing_a_merge_checks_the_unit_the_case_returns_to(db: Database) -> None:
    a, c = await triaged(db, 1), await triaged(db, 2)
    # C is with 人社 and accuses 县劳动局, a name the register does not know yet.
    step = Change(classification="accusation", accused_name="县劳动局", department="renshe")
    await walk(db, c, [(S.ASSIGNED, step), (S.ACCEPTED, Change())])
    await merge(db, "leader", c, a)
    # The register learns that 县劳动局 is the old name of 人社.
    async with db.transaction() as session:
        await department_admin.rename(
            session,
            await department_id(db, "renshe"),
            name="县人力资源和社会保障局",
            region=None,
            aliases=["县人社局", "人社局", "县劳动局"],
            by=None,
            now=MARCH,
        )
    with pytest.raises(AccusedUnit):
        async with db.transaction() as session:
            await links.undo_merge(
                session, await principal(db, "leader"), c, reason="误合并", now=MARCH
            )
    async with db.transaction() as session:
        await links.undo_merge(
            session,
            await principal(db, "supervisor"),
            c,
            reason="误合并",
            now=MARCH,
            accused_override="人社局已回避，由分管领导办理",
        )
    async with db.reader() as session:
        assert (await session.get_one(Case, c)).state == "accepted"
