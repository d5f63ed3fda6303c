"""Administration of the calendar overrides: parsing a pasted notice, entering and removing days
(audited, all or nothing), year coverage, and the recompute of deadlines stored as errors."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from hall import demo
from hall.accounts import department_admin
from hall.audit import AuditEntry
from hall.calendar import admin
from hall.calendar.admin import CalendarCovered, Coverage, Entry
from hall.calendar.tables import CalendarOverride, CalendarYear
from hall.calendar.workdays import load_calendar, mark_year_complete, set_override
from hall.cases import deadlines as case_deadlines
from hall.cases.tables import CaseEvent
from hall.cases.timeline import verify_chain
from hall.db import Database, migrate
from hall.errors import Conflict, InvalidInput, NotFound
from hall.settings import ExtendOver
from tests.hall.cases.test_case_deadlines import register_at
from tests.web.test_cli import pg_url  # noqa: F401 - the PostgreSQL fixture

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
# Tuesday 2027-01-26, 10:00 in the hall: the package (1.11.0) does not know 2027.
JAN_26_2027 = datetime(2027, 1, 26, 2, 0, tzinfo=UTC)
NOTICE_2027 = """
# 2027 年部分节假日安排（测试用）
2027-01-01 holiday 元旦
2027-02-05..2027-02-11 holiday 春节
2027-02-20 workday 春节调休上班
"""


def test_a_pasted_notice_becomes_one_entry_per_day() -> None:
    entries = admin.parse_bulk(NOTICE_2027)
    assert [e.day for e in entries][:3] == [date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 6)]
    assert len(entries) == 1 + 7 + 1
    assert entries[-1] == Entry(date(2027, 2, 20), "workday", "春节调休上班")
    assert {e.name for e in entries if e.kind == "holiday"} == {"元旦", "春节"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2027-02-30 holiday 春节", "不存在的日期"),
        ("2027/02/05 holiday 春节", "YYYY-MM-DD"),
        ("2027-02-05 vacation 春节", "holiday"),
        ("2027-02-05 holiday", "名称"),
        ("2027-02-05", "每行写作"),
        ("2027-02-11..2027-02-05 holiday 春节", "范围"),
        ("2027-01-01..2027-03-01 holiday 春节", "范围"),
        ("1999-02-05 holiday 春节", "年份"),
        ("2027-02-05 holiday 春节\n2027-02-05 workday 调休", "重复"),
    ],
)
def test_a_wrong_line_is_reported_with_its_number(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        admin.parse_bulk("2027-01-01 holiday 元旦\n" + text)
    last = f"line {len(text.splitlines()) + 1}"  # the first line is right, the last wrong
    assert list(caught.value.fields) == [last]
    assert reason in caught.value.fields[last]


def test_an_empty_paste_is_refused() -> None:
    with pytest.raises(InvalidInput):
        admin.parse_bulk("# only a comment\n\n")


def test_a_form_entry_names_each_wrong_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        admin.entry("2027-13-01", "off", " ")
    assert set(caught.value.fields) == {"day", "kind", "name"}
    assert admin.entry("2027-10-01", "holiday", " 国庆节 ") == Entry(
        date(2027, 10, 1), "holiday", "国庆节"
    )


async def test_entering_days_is_audited_and_a_duplicate_changes_nothing(db: Database) -> None:
    entries = admin.parse_bulk(NOTICE_2027)
    async with db.transaction() as session:
        await admin.add_entries(session, entries, by=1, now=NOW)
    with pytest.raises(Conflict) as caught:
        async with db.transaction() as session:
            await admin.add_entries(
                session,
                [Entry(date(2027, 3, 1), "holiday", "新"), Entry(date(2027, 2, 5), "holiday", "x")],
                by=1,
                now=NOW,
            )
    assert "2027-02-05" in caught.value.fields
    async with db.reader() as session:
        days = list(await session.scalars(select(CalendarOverride.day)))
        audits = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "calendar_override_added")
            )
        )
    assert len(days) == 9 and date(2027, 3, 1) not in days  # all or nothing
    assert len(audits) == 9 and {a.user_id for a in audits} == {1}
    assert audits[0].target_type == "calendar_day"


async def test_a_covered_year_needs_confirmation(db: Database) -> None:
    local = [Entry(date(2026, 3, 3), "holiday", "三月三（地方法定节日）")]
    with pytest.raises(CalendarCovered) as caught:
        async with db.transaction() as session:
            await admin.add_entries(session, local, by=1, now=NOW)
    assert caught.value.code == "calendar_covered"
    async with db.transaction() as session:
        await admin.add_entries(session, local, by=1, now=NOW, allow_covered=True)
    async with db.reader() as session:
        assert (await load_calendar(session)).is_workday(date(2026, 3, 3)) is False


async def test_removing_a_day_is_audited_and_an_unknown_day_is_not_found(db: Database) -> None:
    async with db.transaction() as session:
        await admin.add_entries(
            session, [Entry(date(2027, 1, 1), "holiday", "元旦")], by=1, now=NOW
        )
    async with db.transaction() as session:
        await admin.remove_entry(session, date(2027, 1, 1), by=1, now=NOW)
    with pytest.raises(NotFound):
        async with db.transaction() as session:
            await admin.remove_entry(session, date(2027, 1, 1), by=1, now=NOW)
    async with db.reader() as session:
        removed = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "calendar_override_removed")
        )
        assert await session.get(CalendarOverride, date(2027, 1, 1)) is None
    assert removed is not None and removed.detail == {"kind": "holiday", "name": "元旦"}


async def years_now(db: Database) -> dict[int, admin.YearStatus]:
    async with db.reader() as session:
        return {y.year: y for y in await admin.years(session, date(2026, 12, 1))}


async def test_years_show_what_covers_them(db: Database) -> None:
    async with db.transaction() as session:
        await admin.add_entries(session, admin.parse_bulk(NOTICE_2027), by=1, now=NOW)
    years = await years_now(db)
    assert sorted(years) == [2025, 2026, 2027, 2028]
    assert years[2026].coverage is Coverage.PACKAGE
    assert (years[2027].coverage, years[2027].holidays, years[2027].workdays) == (
        Coverage.INCOMPLETE,
        8,
        1,
    )
    assert years[2028].coverage is Coverage.MISSING
    # The page opens on the first year still to enter or to finish.
    assert admin.year_to_enter(list(years.values()), date(2026, 12, 1)) == 2027
    async with db.transaction() as session:
        await admin.mark_complete(session, 2027, by=1, now=NOW)
    years = await years_now(db)
    assert years[2027].coverage is Coverage.OVERRIDES
    assert admin.year_to_enter(list(years.values()), date(2026, 12, 1)) == 2028


async def test_marking_a_year_complete_is_audited_and_refused_when_it_means_nothing(
    db: Database,
) -> None:
    async with db.transaction() as session:
        await admin.add_entries(
            session, [Entry(date(2027, 1, 1), "holiday", "元旦")], by=1, now=NOW
        )
    refusals = [
        (2028, Conflict, "尚未录入"),  # nothing entered
        (2026, CalendarCovered, "日历组件"),  # the package knows it
        (1999, InvalidInput, "年份"),
    ]
    for year, error, text in refusals:
        with pytest.raises(error, match=text):
            async with db.transaction() as session:
                await admin.mark_complete(session, year, by=1, now=NOW)
    async with db.transaction() as session:
        await admin.mark_complete(session, 2027, by=1, now=NOW)
    with pytest.raises(Conflict, match="已标记"):
        async with db.transaction() as session:
            await admin.mark_complete(session, 2027, by=1, now=NOW)
    async with db.reader() as session:
        marks = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "calendar_year_completed")
            )
        )
        assert list(await session.scalars(select(CalendarYear.year))) == [2027]
    assert [(m.user_id, m.target_type, m.target_id) for m in marks] == [
        (1, "calendar_year", "2027")
    ]


async def test_one_entered_day_of_an_unmarked_year_freezes_no_deadline(db: Database) -> None:
    """The review's scenario: registered 2027-01-26, only 2027-02-10 (春节) entered. The 15 days
    end on 02-10; 02-11 was still 春节 (02-05..11), so no date may be fixed before the year is
    complete."""
    events = await register_at(db, JAN_26_2027)
    async with db.transaction() as session:
        await admin.add_entries(
            session, [Entry(date(2027, 2, 10), "holiday", "春节")], by=1, now=JAN_26_2027
        )
        done = await admin.recompute(
            session, by=1, now=JAN_26_2027, reason="录入一天", extend_over=ExtendOver.HOLIDAYS_ONLY
        )
    assert (done.fixed, done.remaining) == (0, 2)
    async with db.reader() as session:
        stored = list(
            await session.scalars(select(CaseEvent).where(CaseEvent.case_id == events[0].case_id))
        )
        audit_row = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "deadlines_recomputed")
        )
    assert [e.kind for e in stored] == [e.kind for e in events]  # nothing appended
    assert all(d.error for d in case_deadlines.attached(stored))
    assert audit_row is not None and (audit_row.user_id, audit_row.detail) == (
        1,
        {"reason": "录入一天", "cases": [], "fixed": 0, "remaining": 2},
    )


async def test_recompute_fixes_the_deadlines_of_a_case_registered_in_an_unknown_year(
    db: Database,
) -> None:
    events = await register_at(db, JAN_26_2027)
    case_id = events[0].case_id
    flags = case_deadlines.flags("registered", events, JAN_26_2027, due_soon_days=3)
    assert flags.error is not None and "2027" in flags.error
    async with db.transaction() as session:
        nothing = await case_deadlines.recompute_errors(
            session, actor_id=1, reason="尚未录入", now=JAN_26_2027
        )
    assert (nothing.fixed, nothing.remaining) == (0, 2)  # still unknown: no event written

    async with db.transaction() as session:
        await admin.add_entries(
            session, admin.parse_bulk(NOTICE_2027), by=1, now=JAN_26_2027, complete=True
        )
        done = await case_deadlines.recompute_errors(
            session, actor_id=1, reason="录入2027年安排后重新计算", now=JAN_26_2027
        )
    assert (done.case_ids, done.fixed, done.remaining) == ([case_id], 2, 0)
    async with db.reader() as session:
        events = list(await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)))
        assert await verify_chain(session, case_id) == []
    recomputed = events[-1]
    assert (recomputed.kind, recomputed.actor_id, recomputed.visibility) == (
        "deadlines_recomputed",
        1,
        "staff",
    )
    assert recomputed.data["of_seq"] == events[0].seq
    assert recomputed.data["reason"] == "录入2027年安排后重新计算"
    shown = {d.rule: d for d in case_deadlines.attached(events)}
    # 15 days end on 02-10, inside 春节 (02-05..11): moved to Friday 02-12.
    assert shown["accept"].day == date(2027, 2, 12) and shown["accept"].error is None
    assert shown["accept"].recomputed_seq == recomputed.seq
    # 10 working days skip the holiday: 01-27..02-04 are 7, then 02-12, 02-15, 02-16.
    assert shown["general_reply"].day == date(2027, 2, 16)
    assert [d.rule for d in case_deadlines.attached(events)] == ["accept", "general_reply"]
    flags = case_deadlines.flags("registered", events, JAN_26_2027, due_soon_days=3)
    assert flags.error is None and flags.deadline is not None
    assert flags.deadline.day == date(2027, 2, 12)

    async with db.transaction() as session:  # a second run finds nothing left to fix
        again = await case_deadlines.recompute_errors(
            session, actor_id=1, reason="再次", now=JAN_26_2027
        )
    assert (again.fixed, again.remaining) == (0, 0)


async def test_recompute_keeps_what_is_still_unknown_and_fixes_it_later(db: Database) -> None:
    # Friday 2027-12-17: 10 working days end on 12-31, the 15 days on 2028-01-01.
    events = await register_at(db, datetime(2027, 12, 17, 2, 0, tzinfo=UTC))
    case_id = events[0].case_id
    async with db.transaction() as session:
        # Entered straight into the tables (as a script would): the recompute button's case.
        await set_override(
            session, day=date(2027, 10, 1), is_workday=False, note="国庆节", by=None, now=NOW
        )
        await mark_year_complete(session, 2027, by=None, now=NOW)
        first = await case_deadlines.recompute_errors(
            session, actor_id=None, reason="第一次", now=NOW
        )
    assert (first.fixed, first.remaining) == (1, 1)
    async with db.transaction() as session:
        # A lone 2028-01-01 entry does not make 2028 known: 01-03 could still be a holiday.
        await set_override(
            session, day=date(2028, 1, 1), is_workday=False, note="元旦", by=None, now=NOW
        )
        lone = await case_deadlines.recompute_errors(
            session, actor_id=None, reason="只录入一天", now=NOW
        )
    assert (lone.fixed, lone.remaining) == (0, 1)
    async with db.transaction() as session:
        await mark_year_complete(session, 2028, by=None, now=NOW)
        second = await case_deadlines.recompute_errors(
            session, actor_id=None, reason="第二次", now=NOW
        )
    assert (second.case_ids, second.fixed, second.remaining) == ([case_id], 1, 0)
    async with db.reader() as session:
        events = list(await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)))
    shown = {d.rule: d.day for d in case_deadlines.attached(events)}
    # 2028-01-01 is a holiday (Saturday), 01-02 a Sunday: the 15 days end on Monday 01-03.
    assert shown == {"accept": date(2028, 1, 3), "general_reply": date(2027, 12, 31)}


async def test_recompute_on_postgresql(pg_url: str) -> None:  # noqa: F811 - the fixture
    """The JSON text prefilter and the new column work on PostgreSQL too."""
    await migrate(pg_url)
    db = Database(pg_url)
    try:
        async with db.transaction() as session:
            await demo.ensure_reference_data(session)
            await demo.seed_demo(session, now=NOW)
        events = await register_at(db, JAN_26_2027)
        async with db.transaction() as session:
            await admin.add_entries(
                session,
                admin.parse_bulk(NOTICE_2027),
                by=None,
                now=JAN_26_2027,
                complete=True,
            )
            done = await case_deadlines.recompute_errors(
                session, actor_id=None, reason="PostgreSQL", now=JAN_26_2027
            )
        assert (done.case_ids, done.fixed, done.remaining) == ([events[0].case_id], 2, 0)
        async with db.reader() as session:
            rows = await department_admin.rows(session)
        assert all(r.department.active for r in rows)
    finally:
        await db.close()
