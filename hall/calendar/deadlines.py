"""Legal deadlines of a case (办理期限): the day each step is due under 《信访工作条例》(2022) and
the counting rules of 民法典 Arts. 201–203 on the official calendar, with the rule in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType

from hall.calendar.workdays import ONE_DAY, DayKind, OfficialCalendar
from hall.errors import InvalidInput
from hall.settings import ExtendOver

MOVE_GROUND = "民法典 Arts. 201–203"
EXTENSION_MAX_DAYS = 30


class Rule(StrEnum):
    """A time limit of the case's life (期限)."""

    ACCEPT = "accept"  # 登记转送交办 / 告知受理与否
    OBJECT = "object"  # 收到转送、交办事项的单位提出异议
    HANDLE = "handle"  # 办结（申诉求决类）
    EXTENSION = "extension"  # 延长办理期限
    GENERAL_REPLY = "general_reply"  # 本厅一般事项答复承诺
    REVIEW_REQUEST = "review_request"  # 请求复查
    REVIEW_DECISION = "review_decision"  # 提出复查意见
    REREVIEW_REQUEST = "rereview_request"  # 请求复核
    REREVIEW_DECISION = "rereview_decision"  # 提出复核意见


class Unit(StrEnum):
    """How the days of a period are counted."""

    CALENDAR_DAYS = "calendar days"
    WORKING_DAYS = "working days"


@dataclass(frozen=True, slots=True)
class Limit:
    """One time limit: its length, its unit, the event it runs from, and where it is written."""

    rule: Rule
    days: int
    unit: Unit
    runs_from: str
    ground: str


LIMITS: Mapping[Rule, Limit] = MappingProxyType(
    {
        limit.rule: limit
        for limit in (
            Limit(Rule.ACCEPT, 15, Unit.CALENDAR_DAYS, "receipt", "信访工作条例 Arts. 22–23"),
            Limit(
                Rule.OBJECT,
                5,
                Unit.WORKING_DAYS,
                "receipt of the transferred or assigned matter",
                "信访工作条例 Art. 23",
            ),
            Limit(Rule.HANDLE, 60, Unit.CALENDAR_DAYS, "acceptance", "信访工作条例 Art. 34"),
            Limit(
                Rule.EXTENSION,
                EXTENSION_MAX_DAYS,
                Unit.CALENDAR_DAYS,
                "the last day of the handling period",
                "信访工作条例 Art. 34, approved, reason told to the petitioner",
            ),
            Limit(
                Rule.GENERAL_REPLY,
                10,
                Unit.WORKING_DAYS,
                "receipt",
                "hall rule, stricter than the law for general matters",
            ),
            Limit(
                Rule.REVIEW_REQUEST,
                30,
                Unit.CALENDAR_DAYS,
                "receipt of the written reply",
                "信访工作条例 Art. 35",
            ),
            Limit(
                Rule.REVIEW_DECISION,
                30,
                Unit.CALENDAR_DAYS,
                "receipt of the review request",
                "信访工作条例 Art. 35",
            ),
            Limit(
                Rule.REREVIEW_REQUEST,
                30,
                Unit.CALENDAR_DAYS,
                "receipt of the review opinion",
                "信访工作条例 Art. 36",
            ),
            Limit(
                Rule.REREVIEW_DECISION,
                30,
                Unit.CALENDAR_DAYS,
                "receipt of the re-review request",
                "信访工作条例 Art. 36, hearing time not counted",
            ),
        )
    }
)

# The steps the supervisors' check tool (`hall deadlines`) prints, in its order.
CHECK_RULES: tuple[Rule, ...] = (
    Rule.ACCEPT,
    Rule.OBJECT,
    Rule.HANDLE,
    Rule.GENERAL_REPLY,
    Rule.REVIEW_REQUEST,
    Rule.REVIEW_DECISION,
    Rule.REREVIEW_REQUEST,
    Rule.REREVIEW_DECISION,
)

_KIND_WORDS = {
    DayKind.WORKDAY: "a working day",
    DayKind.HOLIDAY: "a statutory holiday",
    DayKind.REST_DAY: "a weekend rest day",
}


@dataclass(frozen=True, slots=True)
class Due:
    """A due date (到期日) and the rule that produced it.

    `day` is the last day on which the step is in time (until 24:00, 民法典 Art. 203);
    `nominal` is the last day of the period before any move off a day off; `days` is the
    length counted (hearing days included); `text` states the rule in words.
    """

    rule: Rule
    start: date
    day: date
    nominal: date
    days: int
    unit: Unit
    extend_over: ExtendOver
    text: str

    @property
    def moved(self) -> bool:
        """True when the last day fell on a day off and the period runs to the next working day."""
        return self.day != self.nominal


def due_date(
    rule: Rule,
    start: date,
    calendar: OfficialCalendar,
    *,
    extend_over: ExtendOver = ExtendOver.HOLIDAYS_AND_WEEKENDS,
    days: int | None = None,
    excluded_days: int = 0,
) -> Due:
    """The due date of `rule` for a period running from the event on `start`.

    Calendar-day periods start the next day (民法典 Art. 201); when the last day is a day off
    (which days, `extend_over` says) the period ends on the next working day (Art. 203).
    Working-day periods count the official calendar's working days from the next day.
    `days`: only for `extension`, the approved extension (1–30, default 30), and then `start` is
    the last day of the handling period. `excluded_days`: only for `rereview_decision`, the
    hearing days, which are not counted (Art. 36). Raises `CalendarUnknown` naming the date the
    official calendar must cover, `InvalidInput` for a wrong `days` or `excluded_days`.
    """
    limit = LIMITS[rule]
    length = _length(limit, days, excluded_days)
    what = _what(limit, length, excluded_days)
    if limit.unit is Unit.WORKING_DAYS:
        end = calendar.add_workdays(start, length)
        text = (
            f"{what}; working day {length} is {end.isoformat()} (official calendar, make-up "
            "workdays (调休) counted)"
        )
        return Due(rule, start, end, end, length, limit.unit, extend_over, text)
    nominal = start + timedelta(days=length)
    kind = calendar.kind(nominal)
    last = f"{what}; day {length} is {nominal.isoformat()}, {_KIND_WORDS[kind]}"
    if kind is DayKind.WORKDAY:
        return Due(rule, start, nominal, nominal, length, limit.unit, extend_over, last)
    if extend_over is ExtendOver.HOLIDAYS_ONLY and not _in_holiday(nominal, calendar):
        text = f"{last}, not moved: only statutory holidays move a last day (holidays_only)"
        return Due(rule, start, nominal, nominal, length, limit.unit, extend_over, text)
    end = calendar.next_workday(nominal)
    text = f"{last}, moved to the next working day {end.isoformat()} ({MOVE_GROUND})"
    return Due(rule, start, end, nominal, length, limit.unit, extend_over, text)


def check_dates(
    start: date, calendar: OfficialCalendar, *, extend_over: ExtendOver
) -> dict[Rule, Due]:
    """The due date of every step of `CHECK_RULES` for an event on `start` (no hearing days)."""
    return {rule: due_date(rule, start, calendar, extend_over=extend_over) for rule in CHECK_RULES}


def overdue(due: Due, today: date) -> bool:
    """True once the due day has passed: the step is in time until 24:00 of `due.day`."""
    return today > due.day


def due_soon(due: Due, today: date, *, within_days: int) -> bool:
    """True when not overdue and `due.day` is at most `within_days` calendar days away."""
    return not overdue(due, today) and (due.day - today).days <= within_days


def _length(limit: Limit, days: int | None, excluded_days: int) -> int:
    if days is not None and limit.rule is not Rule.EXTENSION:
        raise InvalidInput(
            f"days is given for {limit.rule}, whose length is fixed ({limit.days})",
            fields={"days": "only for extension"},
        )
    if excluded_days and limit.rule is not Rule.REREVIEW_DECISION:
        raise InvalidInput(
            f"excluded_days is given for {limit.rule}; only hearing days of a re-review "
            "(rereview_decision) are not counted",
            fields={"excluded_days": "only for rereview_decision"},
        )
    if excluded_days < 0:
        raise InvalidInput(
            f"excluded_days is {excluded_days}; expected 0 or more",
            fields={"excluded_days": "negative"},
        )
    if days is None:
        return limit.days + excluded_days
    if not 1 <= days <= EXTENSION_MAX_DAYS:
        raise InvalidInput(
            f"an extension of {days} days; the law allows 1 to {EXTENSION_MAX_DAYS}",
            fields={"days": f"1 to {EXTENSION_MAX_DAYS}"},
        )
    return days


def _what(limit: Limit, length: int, excluded_days: int) -> str:
    counted = f"{length} {limit.unit}"
    if excluded_days:
        counted = f"{limit.days} + {excluded_days} hearing days not counted = {counted}"
    elif limit.rule is Rule.EXTENSION:
        counted = f"{counted} (at most {limit.days})"
    return f"{limit.rule}: {counted} from the day after {limit.runs_from} ({limit.ground})"


def _in_holiday(day: date, calendar: OfficialCalendar) -> bool:
    """True when `day` is off and its run of consecutive days off contains a statutory holiday.

    The run is the holiday as announced (e.g. 2016-01-01 to 01-03): the package lists only some
    of a run's weekend days as holiday days, so a single day's kind is not enough.
    """
    for step in (-ONE_DAY, ONE_DAY):
        current = day
        while (kind := calendar.kind(current)) is not DayKind.WORKDAY:
            if kind is DayKind.HOLIDAY:
                return True
            current += step
    return False
