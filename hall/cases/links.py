"""Merging and splitting case files (合并 / 拆分) and undoing either, each step on the timelines
of both cases. A merged case keeps its rows; its visits and documents are shown from the case it
went into, and its tickets still in play move there (a merged case receives no more visits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Department
from hall.accounts.users import Principal
from hall.cases import accusations, states
from hall.cases.registration import MAX_SUMMARY, open_case
from hall.cases.states import Change, label, may_transition
from hall.cases.tables import Case, CaseEvent, CaseParty, CaseState, PartyRole, Visibility
from hall.cases.timeline import append_event
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound
from hall.queue.queue import ACTIVE_STATES
from hall.queue.tables import Line, Ticket
from hall.settings import ExtendOver
from hall.visits.tables import Recording, Visit, VisitState

SPLIT_EVENT = "split_from"


@dataclass(frozen=True, slots=True)
class SplitItem:
    """What to move out of a case: a visit (with its ticket), a waiting ticket, or a party."""

    visit_id: int | None = None
    ticket_id: int | None = None
    party_id: int | None = None


def _ref(case: Case) -> dict[str, Any]:
    return {"id": case.id, "number": case.number}


async def _case(session: AsyncSession, who: Principal, case_id: int) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"信访事项 {case_id} 不存在")
    if not may_transition(who, case):
        raise Forbidden("无权合并或拆分该信访事项")
    return case


async def _lock(session: AsyncSession, *case_ids: int) -> None:
    """Lock the cases' rows in id order (PostgreSQL; SQLite has one writer at a time) and
    reload them, so that two merges at once cannot each see the other's case still open."""
    await session.execute(
        select(Case)
        .where(Case.id.in_(case_ids))
        .order_by(Case.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _absorb_tickets(session: AsyncSession, case: Case, into: Case) -> list[dict[str, Any]]:
    """Move the tickets of `case` still in play (with their visits and recordings) to `into`,
    which serves them from now on; `conflict` while a visit of `case` is live."""
    live = await session.scalar(
        select(Visit.id).where(Visit.case_id == case.id, Visit.state == VisitState.LIVE)
    )
    if live is not None:
        raise Conflict(f"事项 {case.number} 的接访 {live} 正在进行，结束后才能合并")
    tickets = list(
        await session.scalars(
            select(Ticket)
            .where(Ticket.case_id == case.id, Ticket.state.in_(ACTIVE_STATES))
            .order_by(Ticket.id)
        )
    )
    await _move_tickets(session, [t.id for t in tickets], into.id)
    return [{"id": t.id, "number": t.number} for t in tickets]


async def merge(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    into: int,
    *,
    reason: str,
    now: datetime,
    accused_override: str | None = None,
) -> Case:
    """Merge case `case_id` (B) into `into` (A): B goes to `merged` pointing to A, and B's
    tickets still in play move to A (recorded in A's `case_merged_in`).

    `conflict` naming the state when B may not be merged now (the lifecycle table allows it
    from registered, triaged and accepted), when A is B itself, merged or ended, or while a
    visit of B is live; `forbidden` unless the caller may change both cases; `accused_unit`
    when B (or a case merged into B) is a 检举控告 against the department handling A, unless a
    supervisor overrides it with `accused_override` (the reason).
    """
    await _lock(session, case_id, into)
    done = await states.transition(
        session,
        who,
        case_id,
        CaseState.MERGED,
        reason=reason,
        now=now,
        change=Change(merged_into=into, accused_override=accused_override),
    )
    target = await session.get_one(Case, into)
    moved = await _absorb_tickets(session, done.case, target)
    await append_event(
        session,
        case_id=target.id,
        kind="case_merged_in",
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={"case": _ref(done.case), "reason": done.event.data["reason"], "tickets": moved},
    )
    return done.case


async def _last_merge(session: AsyncSession, case_id: int) -> CaseEvent:
    event = await session.scalar(
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == states.EVENT_KIND)
        .order_by(CaseEvent.seq.desc())
    )
    if event is None or event.data.get("to") != CaseState.MERGED:
        raise Conflict("找不到合并记录，不能撤销")
    if event.data.get("undo") == "split":
        raise Conflict("该事项是撤销拆分时并回原事项的，不能撤销合并；如需分开，请在原事项拆分")
    return event


async def _moved_in(session: AsyncSession, target: Case, case: Case) -> list[int]:
    """The tickets the last merge of `case` moved into `target` that are still there."""
    event = await session.scalar(
        select(CaseEvent)
        .where(CaseEvent.case_id == target.id, CaseEvent.kind == "case_merged_in")
        .order_by(CaseEvent.seq.desc())
    )
    if event is None or event.data.get("case", {}).get("id") != case.id:
        return []
    ids = [int(t["id"]) for t in event.data.get("tickets", [])]
    return list(
        await session.scalars(
            select(Ticket.id).where(Ticket.id.in_(ids), Ticket.case_id == target.id)
        )
    )


async def undo_merge(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    *,
    reason: str,
    now: datetime,
    accused_override: str | None = None,
) -> Case:
    """Undo the merge of `case_id`: it returns to the state it had before, its own file again,
    with the tickets the merge moved (those still on the other case).

    `conflict` naming the state when the case is not merged (never merged, or undone already),
    or when the merge came from undoing a split; `forbidden` unless the caller may change both
    cases; `accused_unit` when the department the case returns to may be the unit it (or a case
    merged into it) accuses, by the register as it is now — unless a supervisor overrides it.
    """
    case = await _case(session, who, case_id)
    guard = accusations.Guard(who, accused_override)
    text = states.check_reason(reason)
    if case.state != CaseState.MERGED or case.merged_into_id is None:
        raise Conflict(
            f"当前状态为 {case.state}（{label(case.state)}），不是已合并的事项，不能撤销合并"
        )
    previous = str((await _last_merge(session, case.id)).data["from"])
    target = await session.get_one(Case, case.merged_into_id)
    if not may_transition(who, target):
        raise Forbidden("无权变更被并入的信访事项")
    if case.department_id is not None:  # back with the unit that handled it before the merge
        receiver = await session.get_one(Department, case.department_id)
        step = "撤销合并后交由被检举控告单位办理"
        guard.check(await accusations.current(session, case), receiver, step=step)
        await states.check_held(session, guard, case.id, receiver, step=step)
    back = await _moved_in(session, target, case)
    live = await session.scalar(
        select(Visit.id).where(Visit.ticket_id.in_(back), Visit.state == VisitState.LIVE)
    )
    if live is not None:
        raise Conflict(f"接访 {live} 正在进行，结束后才能撤销合并")
    await _move_tickets(session, back, case.id)
    await append_event(
        session,
        case_id=case.id,
        kind=states.EVENT_KIND,
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.PUBLIC,
        data={
            "from": CaseState.MERGED.value,
            "to": previous,
            "reason": text,
            "undo": "merge",
            "out_of": _ref(target),
        },
    )
    await append_event(
        session,
        case_id=target.id,
        kind="case_unmerged",
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={"case": _ref(case), "reason": text, "ticket_ids": back},
    )
    case.state = previous
    case.merged_into_id = None
    await guard.record(session, case.id, at=now)
    await session.flush()
    return case


async def _move_tickets(session: AsyncSession, ticket_ids: list[int], to_id: int) -> None:
    """Move tickets with every visit and recording of them to another case."""
    visit_ids = select(Visit.id).where(Visit.ticket_id.in_(ticket_ids))
    await session.execute(
        update(Recording).where(Recording.visit_id.in_(visit_ids)).values(case_id=to_id)
    )
    await session.execute(
        update(Visit).where(Visit.ticket_id.in_(ticket_ids)).values(case_id=to_id)
    )
    await session.execute(update(Ticket).where(Ticket.id.in_(ticket_ids)).values(case_id=to_id))


async def _ticket_to_split(session: AsyncSession, case: Case, item: SplitItem) -> Ticket:
    if item.visit_id is not None:
        visit = await session.get(Visit, item.visit_id)
        if visit is None or visit.case_id != case.id:
            raise NotFound(f"接访 {item.visit_id} 不属于信访事项 {case.number}")
        ticket_id = visit.ticket_id
    else:
        ticket_id = item.ticket_id or 0
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or ticket.case_id != case.id:
        raise NotFound(f"排队号 {ticket_id} 不属于信访事项 {case.number}")
    live = await session.scalar(
        select(Visit.id).where(Visit.ticket_id == ticket.id, Visit.state == VisitState.LIVE)
    )
    if live is not None:
        raise Conflict(f"接访 {live} 正在进行，结束后才能拆分")
    return ticket


async def _party_to_split(session: AsyncSession, case: Case, party_id: int) -> CaseParty:
    party = await session.get(CaseParty, party_id)
    if party is None or party.case_id != case.id:
        raise NotFound(f"当事人 {party_id} 不属于信访事项 {case.number}")
    if party.petitioner_id is None:
        raise Conflict("代办员不能单独拆分为新事项")
    if party.petitioner_id == case.petitioner_id:
        raise Conflict("不能拆出该事项的信访人本人，请拆出其他当事人")
    return party


async def split(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    item: SplitItem,
    *,
    summary: str,
    reason: str,
    now: datetime,
    extend_over: ExtendOver = ExtendOver.HOLIDAYS_AND_WEEKENDS,
) -> Case:
    """Move a visit (with its ticket and every visit of that ticket), a ticket or a party out of
    the case into a new case on the same line, registered now with its own deadlines.

    `conflict` naming the state when the case has ended or is merged, for a live visit, for
    the case's own petitioner or the proxy agent; `not_found` for an item of another case.
    """
    case = await _case(session, who, case_id)
    text = states.check_reason(reason)
    chosen = [x for x in (item.visit_id, item.ticket_id, item.party_id) if x is not None]
    if len(chosen) != 1:
        raise InvalidInput(
            "请指定一项要拆分的内容：接访、排队号或当事人",
            fields={"item": "exactly one of visit_id, ticket_id, party_id"},
        )
    new_summary = summary.strip()
    if not new_summary or len(new_summary) > MAX_SUMMARY:
        raise InvalidInput(
            f"请填写新事项的摘要（不超过{MAX_SUMMARY}字）",
            fields={"summary": "1 to 2000 characters"},
        )
    if not states.is_open(case.state) or case.state == CaseState.MERGED:
        raise Conflict(f"当前状态为 {case.state}（{label(case.state)}），不能拆分")
    line = await session.get_one(Line, case.line_id)
    moved: dict[str, Any]
    if item.party_id is None:
        ticket = await _ticket_to_split(session, case, item)
        petitioner_id, head_count = ticket.petitioner_id, ticket.head_count
        moved = {"ticket_id": ticket.id, "ticket": ticket.number}
    else:
        party = await _party_to_split(session, case, item.party_id)
        assert party.petitioner_id is not None  # noqa: S101 - checked by _party_to_split
        petitioner_id, head_count = party.petitioner_id, 1
        moved = {"party_id": party.id, "role": party.role}
    new = await open_case(
        session,
        line=line,
        petitioner_id=petitioner_id,
        summary=new_summary,
        head_count=head_count,
        channel=case.channel,
        proxy=case.proxy,
        collective=False,
        actor_id=who.user_id,
        now=now,
        extend_over=extend_over,
        extra={"split_from": _ref(case)},
    )
    new.split_from_id = case.id
    if item.party_id is None:
        await _move_tickets(session, [moved["ticket_id"]], new.id)
        # The person stays a party of the original case too: only the visit moves.
        session.add(
            CaseParty(
                case_id=new.id,
                role=PartyRole.PETITIONER,
                petitioner_id=petitioner_id,
                added_at=now,
            )
        )
    else:
        party.case_id = new.id
        party.role = PartyRole.PETITIONER
    await session.flush()
    await append_event(
        session,
        case_id=case.id,
        kind="case_split",
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={"into": _ref(new), "reason": text, **moved},
    )
    await append_event(
        session,
        case_id=new.id,
        kind=SPLIT_EVENT,
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={"from": _ref(case), "reason": text, **moved},
    )
    return new


async def undo_split(
    session: AsyncSession,
    who: Principal,
    case_id: int,
    *,
    reason: str,
    now: datetime,
    accused_override: str | None = None,
) -> Case:
    """Undo a split from the new case `case_id`: what was moved goes back, and the new case is
    merged into the one it came from (it keeps its number and timeline).

    `conflict` naming the state when the new case is no longer `registered` (worked on, or the
    split undone already), or when the original case has ended; naming the case the ticket or
    party is on now when it has moved on, or when the person is a party of the original again;
    while a visit of the new case is live; `accused_unit` as a merge. The merge it makes
    cannot be undone (`undo: split`).
    """
    case = await _case(session, who, case_id)
    if case.split_from_id is not None:
        await _lock(session, case.id, case.split_from_id)
    text = states.check_reason(reason)
    event = await session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == SPLIT_EVENT)
    )
    if case.split_from_id is None or event is None:
        raise Conflict(f"信访事项 {case.number} 不是拆分出的事项，不能撤销拆分")
    if case.state != CaseState.REGISTERED:
        raise Conflict(
            f"当前状态为 {case.state}（{label(case.state)}），"
            "拆分出的事项已办理或已撤销，不能撤销拆分"
        )
    source = await session.get_one(Case, case.split_from_id)
    if not states.is_open(source.state):
        raise Conflict(
            f"原事项 {source.number} 当前状态为 {source.state}"
            f"（{label(source.state)}），不能撤销拆分"
        )
    moved = {
        k: v for k, v in event.data.items() if k in ("ticket_id", "ticket", "party_id", "role")
    }
    if "ticket_id" in moved:
        await _ticket_back(session, case, int(moved["ticket_id"]))
        await _move_tickets(session, [int(moved["ticket_id"])], source.id)
    else:
        party = await _party_back(session, case, source, int(moved["party_id"]))
        party.case_id = source.id
        party.role = str(moved["role"])
    # Whatever else came to the new case in the meantime is served by the original now.
    await _absorb_tickets(session, case, source)
    await session.flush()
    await append_event(
        session,
        case_id=source.id,
        kind="split_undone",
        at=now,
        actor_id=who.user_id,
        visibility=Visibility.STAFF,
        data={"case": _ref(case), "reason": text, **moved},
    )
    done = await states.transition(
        session,
        who,
        case.id,
        CaseState.MERGED,
        reason=text,
        now=now,
        change=Change(merged_into=source.id, undo="split", accused_override=accused_override),
    )
    return done.case


async def _ticket_back(session: AsyncSession, case: Case, ticket_id: int) -> None:
    """`conflict` naming where the split-out ticket is now, unless still on `case`."""
    ticket = await session.get_one(Ticket, ticket_id)
    if ticket.case_id != case.id:
        now_on = await session.get_one(Case, ticket.case_id)
        raise Conflict(
            f"排队号 {ticket.number} 现属于信访事项 {now_on.number}，不在本事项，不能撤销拆分"
        )
    live = await session.scalar(
        select(Visit.id).where(Visit.ticket_id == ticket.id, Visit.state == VisitState.LIVE)
    )
    if live is not None:
        raise Conflict(f"接访 {live} 正在进行，结束后才能撤销拆分")


async def _party_back(session: AsyncSession, case: Case, source: Case, party_id: int) -> CaseParty:
    """The split-out party, unless it has moved on or its person is a party of `source` again
    (`conflict` naming which)."""
    party = await session.get_one(CaseParty, party_id)
    if party.case_id != case.id:
        now_on = await session.get_one(Case, party.case_id)
        raise Conflict(f"该当事人现属于信访事项 {now_on.number}，不在本事项，不能撤销拆分")
    again = await session.scalar(
        select(CaseParty.id).where(
            CaseParty.case_id == source.id, CaseParty.petitioner_id == party.petitioner_id
        )
    )
    if again is not None:
        raise Conflict(f"该当事人已重新登记为原事项 {source.number} 的当事人，不能撤销拆分")
    return party
