"""Due dates of the case steps, as a table of cases across the real holidays and make-up workdays
of 2025 and 2026. Every expected date is counted by hand in the comment next to it.

Calendar facts used (chinese_calendar 1.11.0 = the State Council notices):
2025: Spring Festival 01-28 (Tue)..02-04 (Tue), make-up workdays 01-26 (Sun), 02-08 (Sat);
      Qingming 04-04..06; Labour Day 05-01 (Thu)..05-05 (Mon), make-up 04-27 (Sun).
2026: Spring Festival 02-15 (Sun)..02-23 (Mon), make-up 02-14 (Sat), 02-28 (Sat);
      Labour Day 05-01 (Fri)..05-05 (Tue), make-up 05-09 (Sat); Mid-Autumn 09-25 (Fri)..09-27;
      National Day 10-01 (Thu)..10-07 (Wed), make-up 09-20 (Sun), 10-10 (Sat).
2016: New Year 01-01 (Fri) is the only day the package lists; the notice gave 01-01..03.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from hall.calendar.deadlines import CHECK_RULES, Rule, check_dates, due_date, due_soon, overdue
from hall.calendar.workdays import CalendarUnknown, OfficialCalendar, Override
from hall.errors import InvalidInput
from hall.settings import CaseSettings, ExtendOver

HW = ExtendOver.HOLIDAYS_AND_WEEKENDS
HO = ExtendOver.HOLIDAYS_ONLY


@dataclass(frozen=True)
class Case:
    rule: Rule
    start: date
    due: date
    extend_over: ExtendOver = HW
    overrides: tuple[Override, ...] = ()
    days: int | None = None
    excluded_days: int = 0


LOCAL_HOLIDAY = Override(date(2026, 10, 13), is_workday=False, note="地方法定节日")
SUNDAY_AT_WORK = Override(date(2026, 10, 11), is_workday=True, note="调休上班")
NEW_YEAR_2027 = Override(date(2027, 1, 1), is_workday=False, note="元旦")

CASES = {
    # --- registration on Mon 2026-09-28, between Mid-Autumn and National Day -----------------
    # 09-28 + 15: 09-29 is day 1, 09-30 day 2, 10-01 day 3 ... 10-13 (Tue) day 15: working.
    "accept from 2026-09-28": Case(Rule.ACCEPT, date(2026, 9, 28), date(2026, 10, 13)),
    # 09-29 (1), 09-30 (2), 10-01..07 off, 10-08 (3), 10-09 (4), 10-10 Sat make-up (5).
    "object from 2026-09-28 ends on make-up Saturday": Case(
        Rule.OBJECT, date(2026, 9, 28), date(2026, 10, 10)
    ),
    # Sep 29..30 = 2, Oct = 31 (33), Nov 1..27 = 27 (60): 11-27 (Fri).
    "handle from 2026-09-28": Case(Rule.HANDLE, date(2026, 9, 28), date(2026, 11, 27)),
    # As object to 10-10 (5), 10-11 Sun off, 10-12 (6), 13 (7), 14 (8), 15 (9), 16 Fri (10).
    "general_reply from 2026-09-28": Case(
        Rule.GENERAL_REPLY, date(2026, 9, 28), date(2026, 10, 16)
    ),
    # Sep 29..30 = 2, Oct 1..28 = 28 (30): 10-28 (Wed).
    "review_request from 2026-09-28": Case(
        Rule.REVIEW_REQUEST, date(2026, 9, 28), date(2026, 10, 28)
    ),
    # --- National Day and Mid-Autumn 2026 ------------------------------------------------------
    # Thu 09-10 + 15 = 09-25 (Fri, Mid-Autumn); days off 09-25..27; next working day 09-28.
    "accept ending on Mid-Autumn": Case(Rule.ACCEPT, date(2026, 9, 10), date(2026, 9, 28)),
    # Fri 09-18 + 15 = 10-03 (Sat, National Day); days off 10-01..07; next working day 10-08.
    "accept ending in National Day": Case(Rule.ACCEPT, date(2026, 9, 18), date(2026, 10, 8)),
    # Wed 09-02 + 30 = 10-02 (Fri, National Day) -> 10-08.
    "review_decision ending in National Day": Case(
        Rule.REVIEW_DECISION, date(2026, 9, 2), date(2026, 10, 8)
    ),
    # Sat 09-05 + 15 = 09-20 (Sun), a make-up workday: the period ends on it, not moved.
    "accept ending on make-up Sunday": Case(Rule.ACCEPT, date(2026, 9, 5), date(2026, 9, 20)),
    # Wed 09-16: 09-17 Thu (1), 09-18 Fri (2), 09-19 Sat off, 09-20 Sun make-up (3),
    # 09-21 Mon (4), 09-22 Tue (5). Without the make-up Sunday it would be 09-23.
    "object spanning make-up Sunday": Case(Rule.OBJECT, date(2026, 9, 16), date(2026, 9, 22)),
    # --- Spring Festival 2026 ------------------------------------------------------------------
    # Sun 02-01 + 15 = 02-16 (Mon, Spring Festival); days off 02-15..23; next working day 02-24.
    "accept ending in Spring Festival 2026": Case(Rule.ACCEPT, date(2026, 2, 1), date(2026, 2, 24)),
    # Fri 01-30 + 15: Jan 31 (1), Feb 1..14 (15) = 02-14 (Sat), a make-up workday: not moved.
    "accept ending on make-up Saturday 2026-02-14": Case(
        Rule.ACCEPT, date(2026, 1, 30), date(2026, 2, 14)
    ),
    # Mon 02-09: 02-10 (1), 11 (2), 12 (3), 13 Fri (4), 14 Sat make-up (5), 15..23 off,
    # 24 Tue (6), 25 (7), 26 (8), 27 Fri (9), 28 Sat make-up (10).
    "general_reply across Spring Festival 2026": Case(
        Rule.GENERAL_REPLY, date(2026, 2, 9), date(2026, 2, 28)
    ),
    # --- Spring Festival 2025 ------------------------------------------------------------------
    # Wed 01-15 + 15 = 01-30 (Thu, Spring Festival); days off 01-28..02-04; next working 02-05.
    "accept ending in Spring Festival 2025": Case(Rule.ACCEPT, date(2025, 1, 15), date(2025, 2, 5)),
    # Thu 01-23: 01-24 Fri (1), 01-25 Sat off, 01-26 Sun make-up (2), 01-27 Mon (3),
    # 01-28..02-04 off, 02-05 Wed (4), 02-06 Thu (5).
    "object across Spring Festival 2025": Case(Rule.OBJECT, date(2025, 1, 23), date(2025, 2, 6)),
    # Fri 01-03 + 30: Jan 4..31 = 28, Feb 1..2 = 2 -> 02-02 (Sun, Spring Festival) -> 02-05.
    "rereview_request ending in Spring Festival 2025": Case(
        Rule.REREVIEW_REQUEST, date(2025, 1, 3), date(2025, 2, 5)
    ),
    # --- Labour Day 2025 and 2026 --------------------------------------------------------------
    # Thu 04-17 + 15: Apr 18..30 = 13, May 1..2 = 2 -> 05-02 (Fri, Labour Day); off to 05-05;
    # next working day 05-06 (Tue).
    "accept ending in Labour Day 2025": Case(Rule.ACCEPT, date(2025, 4, 17), date(2025, 5, 6)),
    # Tue 2026-03-03 + 60: Mar 4..31 = 28, Apr = 30 (58), May 1..2 = 2 (60) -> 05-02 (Sat,
    # Labour Day); off 05-01..05; next working day 05-06 (Wed).
    "handle ending in Labour Day 2026": Case(Rule.HANDLE, date(2026, 3, 3), date(2026, 5, 6)),
    # Tue 2026-04-28: 04-29 (1), 04-30 (2), 05-01..05 off, 05-06 (3), 07 (4), 08 Fri (5),
    # 09 Sat make-up (6), 10 Sun off, 11 Mon (7), 12 (8), 13 (9), 14 Thu (10).
    "general_reply across Labour Day 2026": Case(
        Rule.GENERAL_REPLY, date(2026, 4, 28), date(2026, 5, 14)
    ),
    # --- ordinary weekends ---------------------------------------------------------------------
    # Fri 2025-03-07 + 15: Mar 8..22 -> 03-22 (Sat), a weekend rest day -> Mon 03-24.
    "accept ending on a Saturday": Case(Rule.ACCEPT, date(2025, 3, 7), date(2025, 3, 24)),
    # holidays_only: a plain Saturday is not a statutory holiday, so 03-22 stays the last day.
    "accept ending on a Saturday, holidays_only": Case(
        Rule.ACCEPT, date(2025, 3, 7), date(2025, 3, 22), extend_over=HO
    ),
    # Fri 2025-10-17 + 30: Oct 18..31 = 14, Nov 1..16 = 16 -> 11-16 (Sun) -> Mon 11-17.
    "review_request ending on a Sunday": Case(
        Rule.REVIEW_REQUEST, date(2025, 10, 17), date(2025, 11, 17)
    ),
    # --- holidays_only still moves a statutory holiday -----------------------------------------
    # Fri 2026-09-18 + 15 = 10-03 (Sat, National Day) -> 10-08, as with holidays_and_weekends.
    "accept ending in National Day, holidays_only": Case(
        Rule.ACCEPT, date(2026, 9, 18), date(2026, 10, 8), extend_over=HO
    ),
    # Fri 2015-12-18 + 15: Dec 19..31 = 13, Jan 1..2 = 2 -> 2016-01-02 (Sat). The package lists
    # only 01-01 as the holiday, but 01-02 lies in the run of days off 01-01..03 that holds it,
    # i.e. the announced holiday: moved to Mon 01-04 even under holidays_only.
    "weekend day of a holiday run, holidays_only": Case(
        Rule.ACCEPT, date(2015, 12, 18), date(2016, 1, 4), extend_over=HO
    ),
    # --- overrides -----------------------------------------------------------------------------
    # As "accept from 2026-09-28" (day 15 = Tue 10-13), but 10-13 is entered as a holiday ->
    # next working day Wed 10-14.
    "accept ending on an override holiday": Case(
        Rule.ACCEPT, date(2026, 9, 28), date(2026, 10, 14), overrides=(LOCAL_HOLIDAY,)
    ),
    # Thu 10-08: 10-09 Fri (1), 10-10 Sat make-up (2), 10-11 Sun entered as workday (3),
    # 10-12 Mon (4), 10-13 Tue (5). Without the override: 10-12 (3), 13 (4), 14 (5).
    "object over an override workday": Case(
        Rule.OBJECT, date(2026, 10, 8), date(2026, 10, 13), overrides=(SUNDAY_AT_WORK,)
    ),
    "object without the override workday": Case(Rule.OBJECT, date(2026, 10, 8), date(2026, 10, 14)),
    # Thu 2026-12-17 + 15: Dec 18..31 = 14, Jan 1 = 15 -> 2027-01-01, entered as a holiday;
    # 01-02/03 are the weekend (2027 is covered by the override); next working day Mon 01-04.
    "accept ending on an override holiday in a year the package lacks": Case(
        Rule.ACCEPT, date(2026, 12, 17), date(2027, 1, 4), overrides=(NEW_YEAR_2027,)
    ),
    # --- extension and hearing days -----------------------------------------------------------
    # handle: Tue 2026-08-04 + 60: Aug 5..31 = 27, Sep = 30 (57), Oct 1..3 = 3 (60) -> 10-03
    # (Sat, National Day) -> Thu 10-08.
    "handle ending in National Day": Case(Rule.HANDLE, date(2026, 8, 4), date(2026, 10, 8)),
    # The extension runs from that last day: 10-08 + 30: Oct 9..31 = 23, Nov 1..7 = 7 -> 11-07
    # (Sat) -> Mon 11-09.
    "extension of 30 days": Case(Rule.EXTENSION, date(2026, 10, 8), date(2026, 11, 9)),
    # 10-08 + 20 = 10-28 (Wed).
    "extension of 20 days": Case(Rule.EXTENSION, date(2026, 10, 8), date(2026, 10, 28), days=20),
    # Mon 2026-09-28 + (30 + 4 hearing days) = 34: Sep 29..30 = 2, Oct = 31 (33), Nov 1 (34)
    # -> 11-01 (Sun) -> Mon 11-02.
    "rereview_decision with 4 hearing days": Case(
        Rule.REREVIEW_DECISION, date(2026, 9, 28), date(2026, 11, 2), excluded_days=4
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_due_date(case: Case) -> None:
    # The overrides of a year the package lacks stand for that year's whole notice here.
    calendar = OfficialCalendar(case.overrides, complete_years={o.day.year for o in case.overrides})
    due = due_date(
        case.rule,
        case.start,
        calendar,
        extend_over=case.extend_over,
        days=case.days,
        excluded_days=case.excluded_days,
    )
    assert due.day == case.due
    assert (due.rule, due.start, due.extend_over) == (case.rule, case.start, case.extend_over)


def test_check_dates_gives_every_step_in_order() -> None:
    dues = check_dates(date(2026, 9, 28), OfficialCalendar(), extend_over=HW)
    assert tuple(dues) == CHECK_RULES
    # As counted in CASES; every 30-day step: Sep 29..30 = 2, Oct 1..28 = 28 -> 10-28.
    assert {rule.value: due.day.isoformat() for rule, due in dues.items()} == {
        "accept": "2026-10-13",
        "object": "2026-10-10",
        "handle": "2026-11-27",
        "general_reply": "2026-10-16",
        "review_request": "2026-10-28",
        "review_decision": "2026-10-28",
        "rereview_request": "2026-10-28",
        "rereview_decision": "2026-10-28",
    }


def test_a_moved_due_date_records_the_rule_that_moved_it() -> None:
    due = due_date(Rule.ACCEPT, date(2026, 9, 18), OfficialCalendar())
    assert (due.nominal, due.day, due.moved, due.days) == (
        date(2026, 10, 3),
        date(2026, 10, 8),
        True,
        15,
    )
    assert due.text == (
        "accept: 15 calendar days from the day after receipt (信访工作条例 Arts. 22–23); "
        "day 15 is 2026-10-03, a statutory holiday, moved to the next working day 2026-10-08 "
        "(民法典 Arts. 201–203)"
    )


def test_due_texts_name_the_counting() -> None:
    plain = OfficialCalendar()
    kept = due_date(Rule.ACCEPT, date(2025, 3, 7), plain, extend_over=HO)
    assert not kept.moved
    assert kept.text.endswith(
        "day 15 is 2025-03-22, a weekend rest day, not moved: only statutory holidays move a "
        "last day (holidays_only)"
    )
    working = due_date(Rule.OBJECT, date(2026, 9, 28), plain)
    assert "5 working days from the day after receipt of the transferred" in working.text
    assert "working day 5 is 2026-10-10" in working.text
    hearing = due_date(Rule.REREVIEW_DECISION, date(2026, 9, 28), plain, excluded_days=4)
    assert "30 + 4 hearing days not counted = 34 calendar days" in hearing.text
    assert hearing.days == 34
    extension = due_date(Rule.EXTENSION, date(2026, 10, 8), plain, days=20)
    assert "20 calendar days (at most 30) from the day after the last day of the handling" in (
        extension.text
    )


def test_a_due_date_in_an_unknown_year_is_an_error_naming_the_date() -> None:
    plain = OfficialCalendar()
    # Sun 2026-12-20 + 15 = 2027-01-04, a year chinese_calendar 1.11.0 does not know.
    with pytest.raises(CalendarUnknown, match="2027-01-04") as caught:
        due_date(Rule.ACCEPT, date(2026, 12, 20), plain)
    assert caught.value.code == "calendar_unknown"
    # Mon 2026-12-28: 12-29 (1), 12-30 (2), 12-31 (3), then 2027-01-01 is unknown.
    with pytest.raises(CalendarUnknown, match="2027-01-01"):
        due_date(Rule.OBJECT, date(2026, 12, 28), plain)


@pytest.mark.parametrize(
    ("rule", "days", "excluded_days", "field"),
    [
        (Rule.EXTENSION, 31, 0, "days"),
        (Rule.EXTENSION, 0, 0, "days"),
        (Rule.HANDLE, 10, 0, "days"),
        (Rule.REVIEW_DECISION, None, 3, "excluded_days"),
        (Rule.REREVIEW_DECISION, None, -1, "excluded_days"),
    ],
)
def test_wrong_lengths_are_refused(
    rule: Rule, days: int | None, excluded_days: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        due_date(
            rule, date(2026, 9, 28), OfficialCalendar(), days=days, excluded_days=excluded_days
        )
    assert field in caught.value.fields


@pytest.mark.parametrize(
    ("today", "soon", "late"),
    [
        (date(2026, 10, 9), False, False),  # 4 days before 10-13
        (date(2026, 10, 10), True, False),  # 3 days before
        (date(2026, 10, 13), True, False),  # the last day is still in time (until 24:00)
        (date(2026, 10, 14), False, True),
    ],
)
def test_due_soon_and_overdue(today: date, soon: bool, late: bool) -> None:
    due = due_date(Rule.ACCEPT, date(2026, 9, 28), OfficialCalendar())  # -> 10-13, see CASES
    assert due.day == date(2026, 10, 13)
    days = CaseSettings().due_soon_days
    assert (due_soon(due, today, within_days=days), overdue(due, today)) == (soon, late)
