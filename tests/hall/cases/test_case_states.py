"""The case lifecycle: every illegal step refused naming the state, the legal paths, roles,
deadlines attached on the law's clock, and a refused step when the calendar does not cover it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from hall.accounts.tables import Role
from hall.calendar.deadlines import Rule, due_date
from hall.calendar.workdays import CalendarUnknown, load_calendar
from hall.cases import deadlines as case_deadlines
from hall.cases import states
from hall.cases.registration import Registration, register
from hall.cases.states import TRANSITIONS, Change, transition
from hall.cases.tables import Case, CaseEvent, CaseState
from hall.cases.timeline import verify_chain
from hall.db import Database
from hall.errors import Conflict, Forbidden, InvalidInput
from hall.queue.tables import Channel
from tests.support import QS, T0, principal, valid_id_number

S = CaseState
# A Monday in March 2026: every period of the ladder ends inside the package's known years.
MARCH = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
CLAIM = Change(classification="claim", claim_type=3)
# A way into each state from `registered`, with what each step needs.
PATHS: dict[CaseState, list[tuple[CaseState, Change]]] = {
    S.REGISTERED: [],
    S.TRIAGED: [(S.TRIAGED, Change())],
    S.TRANSFERRED: [(S.TRIAGED, Change()), (S.TRANSFERRED, Change(department="zhujian"))],
    S.ASSIGNED: [(S.TRIAGED, Change()), (S.ASSIGNED, Change(department="renshe"))],
    S.REDIRECTED: [(S.TRIAGED, Change()), (S.REDIRECTED, Change(legal_channel="litigation"))],
    S.NOT_ACCEPTED: [
        (S.TRIAGED, Change()),
        (S.NOT_ACCEPTED, Change(legal_channel="other", legal_channel_note="向县市场监管局投诉")),
    ],
    S.ACCEPTED: [(S.TRIAGED, Change()), (S.ACCEPTED, CLAIM)],
}
PATHS[S.IN_PROGRESS] = [*PATHS[S.ACCEPTED], (S.IN_PROGRESS, Change())]
PATHS[S.RESPONDED] = [*PATHS[S.IN_PROGRESS], (S.RESPONDED, Change(outcome="reject"))]
PATHS[S.REVIEW_REQUESTED] = [*PATHS[S.RESPONDED], (S.REVIEW_REQUESTED, Change())]
PATHS[S.REVIEWED] = [*PATHS[S.REVIEW_REQUESTED], (S.REVIEWED, Change())]
PATHS[S.REREVIEW_REQUESTED] = [*PATHS[S.REVIEWED], (S.REREVIEW_REQUESTED, Change())]
PATHS[S.REREVIEWED] = [*PATHS[S.REREVIEW_REQUESTED], (S.REREVIEWED, Change())]
PATHS[S.FINAL] = [*PATHS[S.REREVIEWED], (S.FINAL, Change())]
PATHS[S.CLOSED] = [*PATHS[S.RESPONDED], (S.CLOSED, Change())]
# Into case 1: the first case each test files (a merge names the case it goes into).
PATHS[S.MERGED] = [(S.MERGED, Change(merged_into=1))]
PATHS[S.WITHDRAWN] = [(S.WITHDRAWN, Change())]


async def new_case(
    db: Database, n: int = 1, *, line: str = "urban", now: datetime = T0, by: str = "desk"
) -> int:
    """A case registered by the account `by` (a walk-in at the desk, or a terminal's request)."""
    desk = await principal(db, by)
    channel = Channel.REMOTE if desk.role == Role.TERMINAL else Channel.WALK_IN
    reg = Registration(
        name="王五",
        id_number=valid_id_number(f"41010219800101{n:03d}"),
        phone="13912345678",
        village_id=1,
        head_count=1,
        summary="土地补偿款未到位",
        line_code=line,
    )
    async with db.transaction() as session:
        done = await register(session, desk, reg, channel=channel, now=now, settings=QS)
    return done.case.id


async def walk(db: Database, case_id: int, steps: list[tuple[CaseState, Change]]) -> None:
    who = await principal(db, "officer-urban")
    for to, change in steps:
        async with db.transaction() as session:
            await transition(session, who, case_id, to, reason="依规办理", now=MARCH, change=change)


def test_the_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(CaseState)
    assert set(PATHS) == set(CaseState)
    for state in CaseState:
        assert states.label(state) != state.value


async def test_every_illegal_transition_is_a_conflict_naming_the_state(db: Database) -> None:
    who = await principal(db, "officer-urban")
    for n, (state, steps) in enumerate(PATHS.items()):
        case_id = await new_case(db, n)
        await walk(db, case_id, steps)
        async with db.reader() as session:
            assert (await session.get_one(Case, case_id)).state == state
        extended = state is S.IN_PROGRESS
        for target in CaseState:
            if target in TRANSITIONS[state] and not (target is state and not extended):
                continue
            with pytest.raises(Conflict) as err:
                async with db.transaction() as session:
                    await transition(
                        session, who, case_id, target, reason="试图变更", now=MARCH, change=CLAIM
                    )
            assert f"当前状态为 {state.value}" in err.value.message, (state, target)
            assert f"不能变更为 {target.value}" in err.value.message
        async with db.reader() as session:
            assert (await session.get_one(Case, case_id)).state == state
            assert await verify_chain(session, case_id) == []


async def test_legal_ladder_to_final_records_public_events_and_outcome(db: Database) -> None:
    case_id = await new_case(db)
    await walk(db, case_id, PATHS[S.FINAL])
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        events = list(
            await session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case_id, CaseEvent.kind == "state_changed")
                .order_by(CaseEvent.seq)
            )
        )
        assert await verify_chain(session, case_id) == []
    assert case.state == S.FINAL
    assert (case.outcome, case.classification, case.claim_type) == ("reject", "claim", 3)
    assert [e.data["to"] for e in events] == [to for to, _ in PATHS[S.FINAL]]
    assert events[0].data == {"from": "registered", "to": "triaged", "reason": "依规办理"}
    visibility = {e.data["to"]: e.visibility for e in events}
    assert visibility["triaged"] == visibility["in_progress"] == "staff"
    assert visibility["accepted"] == visibility["responded"] == visibility["final"] == "public"


async def test_branches_set_their_implied_outcome(db: Database) -> None:
    for n, (state, outcome) in enumerate(
        [(S.NOT_ACCEPTED, "not_accepted"), (S.REDIRECTED, "legal_channel")]
    ):
        case_id = await new_case(db, n)
        await walk(db, case_id, [*PATHS[state], (S.CLOSED, Change())])
        async with db.reader() as session:
            case = await session.get_one(Case, case_id)
        assert (case.state, case.outcome) == (S.CLOSED, outcome)


async def test_guards_refuse_missing_classification_outcome_and_reason(db: Database) -> None:
    case_id = await new_case(db)
    await walk(db, case_id, PATHS[S.TRIAGED])
    who = await principal(db, "officer-urban")
    bad = [
        (S.ACCEPTED, "理由", Change(), "classification"),
        (S.ACCEPTED, "理由", Change(classification="claim"), "claim_type"),
        (S.ACCEPTED, "理由", Change(classification="suggestion", claim_type=2), "claim_type"),
        (S.ACCEPTED, "理由", Change(classification="gossip"), "classification"),
        (S.ACCEPTED, " ", CLAIM, "reason"),
        (S.NOT_ACCEPTED, "理由", Change(outcome="support"), "outcome"),
    ]
    for to, reason, change, field in bad:
        with pytest.raises(InvalidInput) as err:
            async with db.transaction() as session:
                await transition(session, who, case_id, to, reason=reason, now=MARCH, change=change)
        assert field in err.value.fields, (to, change)
    await walk(db, case_id, [(S.ACCEPTED, CLAIM), (S.IN_PROGRESS, Change())])
    with pytest.raises(InvalidInput) as err:
        async with db.transaction() as session:
            await transition(session, who, case_id, S.RESPONDED, reason="答复", now=MARCH)
    assert "outcome" in err.value.fields


async def test_roles_other_line_officer_desk_and_terminal_are_forbidden(db: Database) -> None:
    case_id = await new_case(db)
    for username in ("officer-legal", "desk", "village-zhangzhuang", "hall-board"):
        who = await principal(db, username)
        with pytest.raises(Forbidden):
            async with db.transaction() as session:
                await transition(session, who, case_id, S.TRIAGED, reason="分流", now=MARCH)
    for n, username in enumerate(("leader", "supervisor", "admin")):
        other = await new_case(db, n + 10)
        who = await principal(db, username)
        async with db.transaction() as session:
            done = await transition(session, who, other, S.TRIAGED, reason="分流", now=MARCH)
        assert done.case.state == S.TRIAGED


async def test_acceptance_attaches_the_handling_deadline_and_one_extension(
    db: Database,
) -> None:
    case_id = await new_case(db)
    await walk(db, case_id, PATHS[S.ACCEPTED])
    async with db.reader() as session:
        calendar = await load_calendar(session)
        accepted = await session.scalar(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq.desc())
        )
    assert accepted is not None
    handle = due_date(Rule.HANDLE, date(2026, 3, 2), calendar)
    assert accepted.data["due"] == {"handle": {"date": handle.day.isoformat(), "rule": handle.text}}
    await walk(db, case_id, [(S.IN_PROGRESS, Change())])
    who = await principal(db, "leader")
    async with db.transaction() as session:
        done = await transition(
            session,
            who,
            case_id,
            S.IN_PROGRESS,
            reason="案情复杂，经批准延期",
            now=MARCH,
            change=Change(extension_days=20),
        )
    extension = due_date(Rule.EXTENSION, handle.day, calendar, days=20)
    assert done.due["extension"] == extension
    assert done.event.visibility == "public"
    async with db.reader() as session:
        events = await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))
        running = case_deadlines.open_deadline(done.case.state, list(events))
        assert running is not None
        assert (running.rule, running.day) == ("extension", extension.day)
        assert S.IN_PROGRESS not in await states.allowed_next(session, who, case_id)
    with pytest.raises(Conflict, match="已延期一次"):
        async with db.transaction() as session:
            await transition(session, who, case_id, S.IN_PROGRESS, reason="再次延期", now=MARCH)


async def test_acceptance_is_refused_when_the_calendar_does_not_cover_the_deadline(
    db: Database,
) -> None:
    received = datetime(2031, 3, 3, 2, 0, tzinfo=UTC)
    case_id = await new_case(db, now=received)
    who = await principal(db, "officer-urban")
    async with db.transaction() as session:
        await transition(session, who, case_id, S.TRIAGED, reason="分流", now=received)
    with pytest.raises(CalendarUnknown) as err:
        async with db.transaction() as session:
            await transition(
                session, who, case_id, S.ACCEPTED, reason="受理", now=received, change=CLAIM
            )
    assert err.value.code == "calendar_unknown"
    async with db.reader() as session:
        case = await session.get_one(Case, case_id)
        kinds = list(
            await session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id))
        )
    assert case.state == S.TRIAGED
    assert case.classification is None
    assert kinds.count("state_changed") == 1


async def test_unknown_target_state_is_invalid_input(db: Database) -> None:
    case_id = await new_case(db)
    who = await principal(db, "admin")
    with pytest.raises(InvalidInput):
        async with db.transaction() as session:
            await transition(session, who, case_id, "vanished", reason="理由", now=MARCH)
