"""The deadlines of a case as the staff see them: every due date attached on the timeline with its
rule, the case's open deadline, and its overdue / due-soon flags (期限预警); and the recompute of
deadlines the official calendar could not compute when they were attached (重新计算期限)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.calendar.deadlines import LIMITS, Rule, due_date
from hall.calendar.workdays import CalendarUnknown, OfficialCalendar, load_calendar
from hall.cases import states
from hall.cases.tables import Case, CaseEvent, CaseState, Visibility
from hall.cases.timeline import append_event
from hall.settings import HALL_TZ, ExtendOver

RECOMPUTED = "deadlines_recomputed"
# Fixed-length periods: what an error can be (an extension is refused, never stored as one).
_RECOMPUTABLE = frozenset(r.value for r in LIMITS if r is not Rule.EXTENSION)

# States in which no period runs any more: the terminal ones, and the written refusals whose
# notice ends the 15-day step (the case only waits to be closed).
_DONE = frozenset(
    {s for s, nxt in states.TRANSITIONS.items() if not nxt}
    | {CaseState.NOT_ACCEPTED, CaseState.REDIRECTED}
)


@dataclass(frozen=True, slots=True)
class Deadline:
    """One due date attached by a timeline event (`day` None with `error` when not computable)."""

    rule: str
    label: str
    day: date | None
    text: str
    error: str | None
    attached_at: datetime
    seq: int
    recomputed_seq: int | None = None  # the `deadlines_recomputed` event that computed it


@dataclass(frozen=True, slots=True)
class Flags:
    """The open deadline of a case and its flags; `error` set when it could not be computed."""

    deadline: Deadline | None
    overdue: bool
    due_soon: bool

    @property
    def error(self) -> str | None:
        return self.deadline.error if self.deadline else None


def _label(rule: str) -> str:
    try:
        return states.RULE_LABELS[Rule(rule)]
    except ValueError:
        return rule


def _replacements(events: list[CaseEvent]) -> dict[tuple[int, str], CaseEvent]:
    """(seq of the attaching event, rule) → the latest recompute event that computed it."""
    found: dict[tuple[int, str], CaseEvent] = {}
    for event in events:
        if event.kind == RECOMPUTED:
            for rule in event.data.get("due") or {}:
                found[(int(event.data["of_seq"]), str(rule))] = event
    return found


def attached(events: Iterable[CaseEvent]) -> list[Deadline]:
    """Every due date the timeline attached, oldest first, in the order each event lists them.

    A deadline that could not be computed and was recomputed later keeps its place (the period
    still runs from the event that attached it) and takes the recomputed date and rule.
    """
    ordered = sorted(events, key=lambda e: e.seq)
    replaced = _replacements(ordered)
    found: list[Deadline] = []
    for event in ordered:
        if event.kind == RECOMPUTED:
            continue
        for rule, stored in (event.data.get("due") or {}).items():
            fix = replaced.get((event.seq, str(rule)))
            value = fix.data["due"][rule] if fix is not None else stored
            error = value.get("error")
            found.append(
                Deadline(
                    rule=str(rule),
                    label=_label(str(rule)),
                    day=None if error else date.fromisoformat(str(value["date"])),
                    text=str(value.get("rule", "")),
                    error=str(error) if error else None,
                    attached_at=event.at,
                    seq=event.seq,
                    recomputed_seq=fix.seq if fix is not None else None,
                )
            )
    return found


def open_deadline(state: str, events: Iterable[CaseEvent]) -> Deadline | None:
    """The deadline now running: of the latest event that attached any, the earliest (a
    deadline that could not be computed comes first, to be fixed); None once the case is done.
    """
    if CaseState(state) in _DONE:
        return None
    deadlines = attached(events)
    if not deadlines:
        return None
    latest = [d for d in deadlines if d.seq == deadlines[-1].seq]
    return min(latest, key=lambda d: (d.day is not None, d.day or date.min))


def flags(state: str, events: Iterable[CaseEvent], now: datetime, *, due_soon_days: int) -> Flags:
    """Overdue / due soon of the open deadline on the hall's local day of `now`.

    A step is in time until 24:00 of its due day (民法典 Art. 203); due soon means at most
    `due_soon_days` calendar days before it. Both are False for a deadline with an error.
    """
    deadline = open_deadline(state, events)
    if deadline is None or deadline.day is None:
        return Flags(deadline, overdue=False, due_soon=False)
    today = now.astimezone(HALL_TZ).date()
    overdue = today > deadline.day
    soon = not overdue and (deadline.day - today).days <= due_soon_days
    return Flags(deadline, overdue=overdue, due_soon=soon)


@dataclass(frozen=True, slots=True)
class Recomputed:
    """What a recompute did: the cases it fixed and the deadlines still not computable."""

    case_ids: list[int]
    fixed: int
    remaining: int


def _recompute(
    event: CaseEvent, errors: list[str], calendar: OfficialCalendar, extend_over: ExtendOver
) -> tuple[dict[str, dict[str, str]], int]:
    """The deadlines of `errors` computed now for `event` ({rule: {"date", "rule"}}), and how
    many still cannot be."""
    start = event.at.astimezone(HALL_TZ).date()
    computed: dict[str, dict[str, str]] = {}
    for rule in errors:
        try:
            due = due_date(Rule(rule), start, calendar, extend_over=extend_over)
        except CalendarUnknown:
            continue  # still not covered: stays an error
        computed[rule] = states.due_json(due)
    return computed, len(errors) - len(computed)


async def recompute_errors(
    session: AsyncSession,
    *,
    actor_id: int | None,
    reason: str,
    now: datetime,
    extend_over: ExtendOver = ExtendOver.HOLIDAYS_AND_WEEKENDS,
) -> Recomputed:
    """Compute again, on today's calendar, every deadline of an open case that was stored as an
    error (`calendar_unknown`), inside the caller's transaction.

    The timeline is append-only: each attaching event whose errors can now be computed gets one
    staff `deadlines_recomputed` event (`of_seq`, the dates with their rules, `reason`); the case
    page and list read it in place of the error. Deadlines already computed are never moved.
    """
    # A text prefilter (both databases store the JSON as text or cast it to text); each
    # candidate is checked exactly below.
    candidates = list(
        await session.scalars(
            select(CaseEvent)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(
                cast(CaseEvent.data, Text).contains('"error"'),
                CaseEvent.kind != RECOMPUTED,
                Case.state.not_in([s.value for s in _DONE]),
            )
            .order_by(CaseEvent.case_id, CaseEvent.seq)
        )
    )
    if not candidates:
        return Recomputed([], 0, 0)
    done = _replacements(
        list(
            await session.scalars(
                select(CaseEvent).where(
                    CaseEvent.kind == RECOMPUTED,
                    CaseEvent.case_id.in_({e.case_id for e in candidates}),
                )
            )
        )
    )
    calendar = await load_calendar(session)
    fixed_cases: list[int] = []
    fixed = remaining = 0
    for event in candidates:
        errors = [
            str(rule)
            for rule, value in (event.data.get("due") or {}).items()
            if isinstance(value, dict)
            and value.get("error")
            and (event.seq, str(rule)) not in done
            and rule in _RECOMPUTABLE
        ]
        if not errors:
            continue
        computed, left = _recompute(event, errors, calendar, extend_over)
        remaining += left
        if not computed:
            continue
        await append_event(
            session,
            case_id=event.case_id,
            kind=RECOMPUTED,
            at=now,
            actor_id=actor_id,
            visibility=Visibility.STAFF,
            data={"of_seq": event.seq, "of_kind": event.kind, "reason": reason, "due": computed},
        )
        fixed += len(computed)
        if event.case_id not in fixed_cases:
            fixed_cases.append(event.case_id)
    return Recomputed(fixed_cases, fixed, remaining)
