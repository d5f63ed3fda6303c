"""Administration of the official calendar's overrides (节假日调整表): which years the calendar
covers, entering one day or a whole year's State Council notice, removing a day, marking a year's
entries complete (本年已完整录入), and the recompute of deadlines that this unblocks; each change is
audited with its administrator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import audit
from hall.calendar.tables import CalendarOverride, CalendarYear
from hall.calendar.workdays import (
    NOTE_MAX,
    mark_year_complete,
    package_kind,
    remove_override,
    set_override,
)
from hall.cases import deadlines as case_deadlines
from hall.cases.deadlines import Recomputed
from hall.errors import Conflict, HallError, InvalidInput, NotFound
from hall.settings import ExtendOver

YEAR_MIN = 2000
YEAR_MAX = 2100
RANGE_MAX_DAYS = 31  # the longest run one bulk line may name (a holiday is at most a few days)
BULK_MAX_LINES = 400
_LINE = re.compile(r"(\S+)\s+(\S+)(?:\s+(.+))?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
KIND_LABELS = {"holiday": "放假", "workday": "上班"}
T = TypeVar("T")


class CalendarCovered(HallError):
    """An override for a year the `chinese_calendar` package already covers, not confirmed.

    Allowed with `allow_covered` (a local statutory holiday, or a correction the installed
    package lacks), refused otherwise: a year typed wrong would silently move the deadlines of
    cases in a year that needs no entry.
    """

    code = "calendar_covered"


class Coverage(StrEnum):
    """How a year's working days are known."""

    PACKAGE = "package"  # the chinese_calendar package knows the year (overrides may refine it)
    OVERRIDES = "overrides"  # only the override table, marked complete by an administrator
    INCOMPLETE = "incomplete"  # some days entered, not marked complete: still not covered
    MISSING = "missing"  # nothing entered: every deadline that needs a day of it is an error


@dataclass(frozen=True, slots=True)
class YearStatus:
    """One year of the calendar page: its coverage and how many overrides it has."""

    year: int
    coverage: Coverage
    holidays: int
    workdays: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One day to enter: a statutory holiday (放假) or a (make-up) working day (上班)."""

    day: date
    kind: str
    name: str

    @property
    def is_workday(self) -> bool:
        return self.kind == "workday"


def package_covers(year: int) -> bool:
    """True when the installed `chinese_calendar` package knows `year`."""
    return package_kind(date(year, 1, 1)) is not None


def parse_day(text: str) -> date:
    """A date written YYYY-MM-DD within YEAR_MIN–YEAR_MAX; ValueError with the reason."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"日期须写作 YYYY-MM-DD：{text}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"不存在的日期：{text}") from None
    if not YEAR_MIN <= day.year <= YEAR_MAX:
        raise ValueError(f"年份须在 {YEAR_MIN}–{YEAR_MAX} 之间：{text}")
    return day


def _check_kind(kind: str) -> str:
    if kind not in KIND_LABELS:
        raise ValueError(f"类型须为 holiday（放假）或 workday（上班）：{kind}")
    return kind


def _check_name(name: str) -> str:
    text = name.strip()
    if not 1 <= len(text) <= NOTE_MAX:
        raise ValueError(f"请填写名称（如 春节、调休上班），1–{NOTE_MAX}字")
    return text


def _checked(problems: dict[str, str], field: str, check: Callable[[str], T], value: str) -> T:
    try:
        return check(value)
    except ValueError as exc:
        problems[field] = str(exc)
        return None  # type: ignore[return-value]  # never used: the caller raises first


def entry(day: str, kind: str, name: str) -> Entry:
    """One day from a form; `invalid_input` naming each wrong field."""
    problems: dict[str, str] = {}
    parsed = Entry(
        day=_checked(problems, "day", parse_day, day),
        kind=_checked(problems, "kind", _check_kind, kind),
        name=_checked(problems, "name", _check_name, name),
    )
    if problems:
        raise InvalidInput("节假日调整有误", fields=problems)
    return parsed


def _days(text: str) -> list[date]:
    first, sep, last = text.partition("..")
    start = parse_day(first)
    if not sep:
        return [start]
    end = parse_day(last)
    if not start <= end or (end - start).days >= RANGE_MAX_DAYS:
        raise ValueError(f"日期范围须从前到后且不超过{RANGE_MAX_DAYS}天：{text}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def parse_bulk(text: str) -> list[Entry]:
    """The lines of a pasted notice: `YYYY-MM-DD[..YYYY-MM-DD] holiday|workday 名称`.

    Blank lines and lines starting with `#` are skipped. Every wrong line is reported (`fields`
    maps `line N` to its reason) and then nothing is entered; a day named twice is wrong too.
    """
    lines = text.splitlines()
    if len(lines) > BULK_MAX_LINES:
        raise InvalidInput(f"一次最多{BULK_MAX_LINES}行", fields={"text": "too many lines"})
    problems: dict[str, str] = {}
    found: dict[date, Entry] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        try:
            if match is None:
                raise ValueError("每行写作：日期 类型 名称，如 2027-02-06 holiday 春节")
            days = _days(match.group(1))
            kind = _check_kind(match.group(2))
            name = _check_name(match.group(3) or "")
            twice = [d.isoformat() for d in days if d in found]
            if twice:
                raise ValueError(f"日期重复：{'、'.join(twice)}")
        except ValueError as exc:
            problems[f"line {number}"] = str(exc)
            continue
        for day in days:
            found[day] = Entry(day=day, kind=kind, name=name)
    if problems:
        raise InvalidInput("批量录入有误，未保存任何一行", fields=problems)
    if not found:
        raise InvalidInput("没有可录入的日期", fields={"text": "no day"})
    return sorted(found.values(), key=lambda e: e.day)


async def add_entries(
    session: AsyncSession,
    entries: Iterable[Entry],
    *,
    by: int | None,
    now: datetime,
    allow_covered: bool = False,
    complete: bool = False,
) -> list[CalendarOverride]:
    """Enter new overrides, all or none, each audited (`calendar_override_added`).

    `conflict` if a day already has an override (remove it first: a change is explicit);
    `calendar_covered` for a day of a year the package covers unless `allow_covered`. With
    `complete` (本年已完整录入), each year of the entries the package does not know is marked
    complete as well (`calendar_year_completed`; a year already marked stays as it is).
    """
    todo = list(entries)
    days = [e.day for e in todo]
    existing = sorted(
        await session.scalars(select(CalendarOverride.day).where(CalendarOverride.day.in_(days)))
    )
    if existing:
        listed = "、".join(d.isoformat() for d in existing[:10])
        raise Conflict(
            f"已有调整记录：{listed}；如需修改请先删除",
            fields={d.isoformat(): "already entered" for d in existing},
        )
    covered = sorted({e.day.year for e in todo if package_covers(e.day.year)})
    if covered and not allow_covered:
        years = "、".join(str(y) for y in covered)
        raise CalendarCovered(
            f"{years}年已由日历组件覆盖；仅在地方法定节日或更正时调整，请勾选确认后再提交",
            fields={"allow_covered": f"required for {years}"},
        )
    rows = []
    for item in todo:
        rows.append(
            await set_override(
                session, day=item.day, is_workday=item.is_workday, note=item.name, by=by, now=now
            )
        )
        await audit.record_change(
            session,
            by,
            now,
            "calendar_override_added",
            ("calendar_day", item.day.isoformat()),
            {"kind": item.kind, "name": item.name},
        )
    if complete:
        for year in sorted({e.day.year for e in todo} - set(covered)):
            await _mark(session, year, by=by, now=now)
    return rows


async def _mark(session: AsyncSession, year: int, *, by: int | None, now: datetime) -> bool:
    marked = await mark_year_complete(session, year, by=by, now=now)
    if marked:
        await audit.record_change(
            session, by, now, "calendar_year_completed", ("calendar_year", year), {"year": year}
        )
    return marked


async def mark_complete(session: AsyncSession, year: int, *, by: int | None, now: datetime) -> None:
    """标记完整: the administrator states that `year`'s overrides are the whole notice, so its
    other days follow the week; audited (`calendar_year_completed`).

    `invalid_input` outside YEAR_MIN–YEAR_MAX; `calendar_covered` for a year the package knows;
    `conflict` when already marked or when nothing of the year is entered yet.
    """
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidInput("年份有误", fields={"year": f"{YEAR_MIN}–{YEAR_MAX}"})
    if package_covers(year):
        raise CalendarCovered(f"{year}年已由日历组件覆盖，无需标记完整")
    if await session.get(CalendarYear, year) is not None:
        raise Conflict(f"{year}年已标记为完整录入")
    if not await overrides_of(session, year):
        raise Conflict(f"{year}年尚未录入任何节假日，不能标记完整")
    await _mark(session, year, by=by, now=now)


async def recompute(
    session: AsyncSession,
    *,
    by: int | None,
    now: datetime,
    reason: str,
    extend_over: ExtendOver,
) -> Recomputed:
    """`case_deadlines.recompute_errors` on the calendar as it now stands, audited
    (`deadlines_recomputed` with the cases, fixed and remaining counts) in the same transaction."""
    done = await case_deadlines.recompute_errors(
        session, actor_id=by, reason=reason, now=now, extend_over=extend_over
    )
    await audit.record_change(
        session,
        by,
        now,
        "deadlines_recomputed",
        ("calendar", "deadlines"),
        {
            "reason": reason,
            "cases": done.case_ids,
            "fixed": done.fixed,
            "remaining": done.remaining,
        },
    )
    return done


async def remove_entry(session: AsyncSession, day: date, *, by: int | None, now: datetime) -> None:
    """Delete the override of `day` (audited `calendar_override_removed`); `not_found` if none."""
    row = await session.get(CalendarOverride, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} 没有调整记录")
    detail = {"kind": "workday" if row.is_workday else "holiday", "name": row.note}
    await remove_override(session, day)
    await audit.record_change(
        session, by, now, "calendar_override_removed", ("calendar_day", day.isoformat()), detail
    )


async def overrides_of(session: AsyncSession, year: int) -> list[CalendarOverride]:
    """The overrides of `year`, by day."""
    return list(
        await session.scalars(
            select(CalendarOverride)
            .where(
                CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31)
            )
            .order_by(CalendarOverride.day)
        )
    )


async def years(session: AsyncSession, today: date) -> list[YearStatus]:
    """Last year to two years ahead, and every year with an override, with their coverage."""
    counts: dict[tuple[int, bool], int] = {}
    for day, is_workday in await session.execute(
        select(CalendarOverride.day, CalendarOverride.is_workday)
    ):
        key = (day.year, bool(is_workday))
        counts[key] = counts.get(key, 0) + 1
    complete = set(await session.scalars(select(CalendarYear.year)))
    wanted = set(range(today.year - 1, today.year + 3)) | {year for year, _ in counts} | complete
    result = []
    for year in sorted(wanted):
        holidays, workdays = counts.get((year, False), 0), counts.get((year, True), 0)
        if package_covers(year):
            coverage = Coverage.PACKAGE
        elif year in complete:
            coverage = Coverage.OVERRIDES
        elif holidays or workdays:
            coverage = Coverage.INCOMPLETE
        else:
            coverage = Coverage.MISSING
        result.append(YearStatus(year, coverage, holidays, workdays))
    return result


def year_to_enter(statuses: list[YearStatus], today: date) -> int:
    """The year the page opens on: the first from this year on that is not covered (the one to
    enter or to finish), else next year."""
    open_ = (Coverage.MISSING, Coverage.INCOMPLETE)
    missing = [y.year for y in statuses if y.year >= today.year and y.coverage in open_]
    return missing[0] if missing else today.year + 1
