"""The typed legal channel (法定途径) of `not_accepted` / `redirected`, and the 检举控告 rule: the
accused unit is recorded, restricted, and never the receiver of the case."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hall.cases import cases, notices, public_query
from hall.cases.states import Change, transition
from hall.cases.tables import Case, CaseEvent, CaseState
from hall.db import Database
from hall.errors import AccusedUnit, InvalidInput
from tests.hall.cases.test_case_states import MARCH, PATHS, new_case, walk
from tests.support import principal

S = CaseState
ACCUSED = "城关镇人民政府"
ACCUSE = Change(classification="accusation", accused_name=ACCUSED)


async def event_count(db: Database, case_id: int) -> int:
    async with db.reader() as session:
        count = await session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)
        )
    return int(count or 0)


async def refused(db: Database, case_id: int, to: CaseState, change: Change) -> InvalidInput:
    """The step fails with `invalid_input`, leaving the case and its timeline as they were."""
    who = await principal(db, "officer-urban")
    before = await event_count(db, case_id)
    with pytest.raises(InvalidInput) as err:
        async with db.transaction() as session:
            await transition(session, who, case_id, to, reason="依规办理", now=MARCH, change=change)
    assert await event_count(db, case_id) == before
    return err.value


@pytest.mark.parametrize("to", [S.NOT_ACCEPTED, S.REDIRECTED])
async def test_the_legal_channel_is_required_and_typed(db: Database, to: CaseState) -> None:
    case_id = await new_case(db)
    await walk(db, case_id, PATHS[S.TRIAGED])
    bad = [
        (Change(), "legal_channel"),
        (Change(legal_channel="court_of_heaven"), "legal_channel"),
        (Change(legal_channel="other"), "legal_channel_note"),
        (Change(legal_channel="other", legal_channel_note=" "), "legal_channel_note"),
        (Change(legal_channel="arbitration", legal_channel_note="多余说明"), "legal_channel_note"),
    ]
    for change, field in bad:
        assert field in (await refused(db, case_id, to, change)).fields, change
    async with db.reader() as session:
        assert (await session.get_one(Case, case_id)).state == S.TRIAGED
    # Another step may not name a channel.
    wrong = Change(classification="suggestion", legal_channel="litigation")
    assert "legal_channel" in (await refused(db, case_id, S.ACCEPTED, wrong)).fields


async def test_the_channel_is_stored_shown_publicly_and_printed(db: Database) -> None:
    case_id = await new_case(db)
    steps = [(S.TRIAGED, Change()), (S.NOT_ACCEPTED, Change(legal_channel="reconsideration"))]
    await walk(db, case_id, steps)
    officer = await principal(db, "officer-urban")
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        assert (case.legal_channel, case.legal_channel_note) == ("reconsideration", None)
        last = await session.scalar(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq.desc())
        )
        assert last is not None and last.data["legal_channel"] == {
            "code": "reconsideration",
            "label": "行政复议",
            "note": None,
        }
        public = await public_query.public_status(session, case.number, case.query_code)
        notice = await notices.notice(session, officer, case_id, "not_accepted")
    assert public.legal_channel == "行政复议"
    assert "依规办理" not in str(public)  # the ground stays on the notice
    assert notice.facts["channel"] == "行政复议"
    assert notice.facts["ground"] == "依规办理"
    assert "本机关受理范围" in notice.facts["advice"]


async def test_other_channel_is_named_by_its_note(db: Database) -> None:
    case_id = await new_case(db)
    await walk(db, case_id, PATHS[S.NOT_ACCEPTED])
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        public = await public_query.public_status(session, case.number, case.query_code)
    assert (case.legal_channel, public.legal_channel) == ("other", "向县市场监管局投诉")


async def test_an_accusation_records_its_accused_unit(db: Database) -> None:
    case_id = await new_case(db)
    await walk(db, case_id, PATHS[S.TRIAGED])
    for change, field in [
        (Change(classification="accusation"), "accused_department"),
        (Change(classification="accusation", accused_name="某"), "accused_name"),
        (Change(classification="accusation", accused_department="nowhere"), "accused_department"),
        (
            Change(classification="accusation", accused_department="zhujian", accused_name=ACCUSED),
            "accused_name",
        ),
        (Change(classification="suggestion", accused_name=ACCUSED), "accused_department"),
    ]:
        assert field in (await refused(db, case_id, S.ACCEPTED, change)).fields, change
    await walk(db, case_id, [(S.ACCEPTED, ACCUSE)])
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        assert (case.classification, case.accused_name, case.accused_department_id) == (
            "accusation",
            ACCUSED,
            None,
        )
        recorded = list(
            await session.scalars(
                select(CaseEvent).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind == "accused_unit_recorded"
                )
            )
        )
        state_events = list(
            await session.scalars(
                select(CaseEvent.data).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind == "state_changed"
                )
            )
        )
    assert [(e.visibility, e.data["accused"]) for e in recorded] == [
        ("restricted", {"department": None, "name": ACCUSED})
    ]
    assert ACCUSED not in str(state_events)  # only the restricted event names it


async def test_an_accusation_is_never_routed_to_the_accused_unit(db: Database) -> None:
    who = await principal(db, "officer-urban")
    case_id = await new_case(db)
    await walk(db, case_id, PATHS[S.TRIAGED])
    # An alias of a listed department is that department: 县住建局 accused, 住建 not its receiver.
    accuse = Change(classification="accusation", accused_name=" 县住建局", department="zhujian")
    before = await event_count(db, case_id)
    for to in (S.ASSIGNED, S.TRANSFERRED):
        with pytest.raises(AccusedUnit) as err:
            async with db.transaction() as session:
                await transition(session, who, case_id, to, reason="交办", now=MARCH, change=accuse)
        assert err.value.code == "accused_unit" and "县住房和城乡建设局" in err.value.message
    assert await event_count(db, case_id) == before
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        assert (case.state, case.classification, case.department_id) == ("triaged", None, None)
    # Another department may handle it.
    other = Change(classification="accusation", accused_department="zhujian", department="renshe")
    await walk(db, case_id, [(S.ASSIGNED, other)])
    # A case already with a department cannot be classified as an accusation against it.
    second = await new_case(db, 2)
    await walk(db, second, [(S.TRIAGED, Change()), (S.ASSIGNED, Change(department="zhujian"))])
    with pytest.raises(AccusedUnit):
        async with db.transaction() as session:
            change = Change(classification="accusation", accused_department="zhujian")
            await transition(
                session, who, second, S.ACCEPTED, reason="受理", now=MARCH, change=change
            )


async def test_the_accused_unit_is_hidden_from_departments_and_the_public(db: Database) -> None:
    case_id = await new_case(db)
    accuse = Change(classification="accusation", accused_name=ACCUSED, department="renshe")
    await walk(db, case_id, [(S.TRIAGED, Change()), (S.ASSIGNED, accuse)])
    officer = await principal(db, "officer-urban")
    department = await principal(db, "dept-renshe")
    async with db.reader() as session:
        staff_view = await cases.case_view(session, officer, case_id)
        dept_view = await cases.case_view(session, department, case_id)
        case = await session.get_one(Case, case_id)
        public = await public_query.public_status(session, case.number, case.query_code)
    assert staff_view.accused is not None and staff_view.accused.name == ACCUSED
    assert dept_view.accused is None
    assert "accused_unit_recorded" not in [e.kind for e in dept_view.events]
    assert "accused_unit_recorded" not in [e.kind for e in staff_view.events]  # restricted
    assert ACCUSED not in str([e.data for e in dept_view.events])
    assert ACCUSED not in str(public)


async def test_reclassifying_clears_the_accused_unit(db: Database) -> None:
    case_id = await new_case(db)
    await walk(db, case_id, [(S.TRIAGED, Change()), (S.ACCEPTED, ACCUSE)])
    await walk(db, case_id, [(S.IN_PROGRESS, Change(classification="suggestion"))])
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        kinds = list(
            await session.scalars(
                select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
            )
        )
    assert (case.accused_name, case.accused_department_id) == (None, None)
    assert kinds.count("accused_unit_recorded") == 2
