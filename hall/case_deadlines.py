"""The deadlines of a case as the staff see them: every due date attached on the timeline with its
rule, the case's open deadline, and its overdue / due-soon flags (期限预警)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from hall import case_states
from hall.deadlines import Rule
from hall.model import CaseEvent, CaseState
from hall.settings import HALL_TZ

# States in which no period runs any more: the terminal ones, and the written refusals whose
# notice ends the 15-day step (the case only waits to be closed).
_DONE = frozenset(
    {s for s, nxt in case_states.TRANSITIONS.items() if not nxt}
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
        return case_states.RULE_LABELS[Rule(rule)]
    except ValueError:
        return rule


def attached(events: Iterable[CaseEvent]) -> list[Deadline]:
    """Every due date the timeline attached, oldest first, in the order each event lists them."""
    found: list[Deadline] = []
    for event in sorted(events, key=lambda e: e.seq):
        for rule, value in (event.data.get("due") or {}).items():
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
