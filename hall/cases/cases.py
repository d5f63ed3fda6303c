"""Reading case files (信访事项) for staff: the case page and the case list, with masking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import audit
from hall.accounts.tables import Role, User, Village
from hall.accounts.users import Principal
from hall.cases import accusations, legal_channels, timeline
from hall.cases.accusations import Accused
from hall.cases.parties import PartyView, party_views
from hall.cases.tables import Case, CaseEvent, CaseParty, Classification, Petitioner
from hall.errors import Forbidden, NotFound
from hall.privacy import mask_id_number, mask_phone
from hall.queue.tables import Line, Ticket
from hall.visits import recordings
from hall.visits.tables import Recording, Visit

STAFF_ROLES = (Role.OFFICER, Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN)
# Roles that may see a petitioner's identity number and phone in full (each read audited).
UNMASK_ROLES = (Role.OFFICER, Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class PetitionerView:
    """A petitioner as shown to staff: identity number and phone masked unless unmasked."""

    id: int
    name: str
    id_number: str
    phone: str
    village: str


@dataclass(frozen=True, slots=True)
class VisitView:
    """One visit of the case (or of a case merged into it) with its officer and recordings."""

    visit: Visit
    officer: str
    recordings: list[Recording]
    case_number: str = ""  # the merged case it belongs to; empty for the case's own visits
    notes: str = ""  # the visit's notes, empty where the reader may not see them


@dataclass(frozen=True, slots=True)
class TicketView:
    """A queue ticket of the case or of a case merged into it."""

    ticket: Ticket
    line: str
    case_number: str


@dataclass(frozen=True, slots=True)
class CaseView:
    """Everything the staff case page shows."""

    case: Case
    line: Line
    petitioner: PetitionerView
    events: list[CaseEvent]
    visits: list[VisitView]  # with the recordings the reader may play
    # 检举控告: the accused unit, None for a department account (restricted data).
    accused: Accused | None
    legal_channel: str | None
    parties: list[PartyView]
    tickets: list[TicketView]
    merged_cases: list[Case]  # cases merged into this one (transitively) the reader may read
    merged_into: Case | None  # the case this one is merged into
    split_from: Case | None  # the case this one was split out of
    # Which of those linked cases the reader may open (the page links these only).
    openable: frozenset[int] = frozenset()


def may_read(who: Principal, case: Case) -> bool:
    """Whether `who` may read the case file (the case page's rule)."""
    return _may_read(who, case)


def _may_read(who: Principal, case: Case) -> bool:
    if who.role == Role.DEPARTMENT:
        return who.department_id is not None and case.department_id == who.department_id
    if who.role in (Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN):
        return True
    return who.role == Role.OFFICER and case.line_id in who.line_ids


def _shows_merged(who: Principal, merged: Case) -> bool:
    """Whether a reader of the case that `merged` went into is shown `merged` there.

    Staff only when they may read it themselves (a case of another line stays hidden from an
    officer of the absorbing line). A department handling the absorbing case is shown it,
    except a 检举控告, which never reaches a department through a merge.
    """
    if who.role == Role.DEPARTMENT:
        return merged.classification != Classification.ACCUSATION
    return _may_read(who, merged)


async def readable_merged(session: AsyncSession, who: Principal, case_id: int) -> list[Case]:
    """The cases merged into `case_id` (transitively) that its reader `who` is shown."""
    return [c for c in await merged_into_case(session, case_id) if _shows_merged(who, c)]


async def readable_through_merge(session: AsyncSession, who: Principal, case: Case) -> bool:
    """Whether `who` may read `case` directly, or as a case merged into one they may read."""
    if _may_read(who, case):
        return True
    if not _shows_merged(who, case):
        return False
    seen = {case.id}
    parent_id = case.merged_into_id
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = await session.get_one(Case, parent_id)
        if _may_read(who, parent):
            return True
        parent_id = parent.merged_into_id
    return False


async def case_view(session: AsyncSession, who: Principal, case_id: int) -> CaseView:
    """The case page's content; `forbidden` for roles outside the case, `not_found` if absent."""
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"信访事项 {case_id} 不存在")
    if not _may_read(who, case):
        raise Forbidden("无权查看该信访事项")
    line = await session.get_one(Line, case.line_id)
    person = await session.get_one(Petitioner, case.petitioner_id)
    village = await session.get(Village, person.village_id) if person.village_id else None
    events = timeline.readable_events(
        who,
        list(
            await session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
            )
        ),
        accusation=case.classification == Classification.ACCUSATION,
    )
    merged_cases = await readable_merged(session, who, case.id)
    numbers = {c.id: c.number for c in merged_cases}
    case_ids = [case.id, *numbers]
    rows = await session.execute(
        select(Visit, User.display_name)
        .join(User, User.id == Visit.officer_id)
        .where(Visit.case_id.in_(case_ids))
        .order_by(Visit.id)
    )
    # Listed only where the reader may play them: the page links every one it lists.
    playable = {c.id for c in (case, *merged_cases) if recordings.may_play(who, c)}
    all_recordings = [r for cid in case_ids for r in await recordings.for_case(session, cid)]
    visits = [
        VisitView(
            visit=visit,
            officer=officer,
            recordings=[
                r for r in all_recordings if r.visit_id == visit.id and r.case_id in playable
            ],
            case_number=numbers.get(visit.case_id, ""),
            # The notes are the staff-only `note` event: the bureau's, never a department's.
            notes=visit.notes if timeline.reads_staff_events(who) else "",
        )
        for visit, officer in rows
    ]
    ticket_rows = await session.execute(
        select(Ticket, Line.name)
        .join(Line, Line.id == Ticket.line_id)
        .where(Ticket.case_id.in_(case_ids))
        .order_by(Ticket.id)
    )
    tickets = [
        TicketView(ticket=t, line=name, case_number=numbers.get(t.case_id, case.number))
        for t, name in ticket_rows
    ]
    merged_into = await session.get(Case, case.merged_into_id) if case.merged_into_id else None
    split_from = await session.get(Case, case.split_from_id) if case.split_from_id else None
    return CaseView(
        case=case,
        line=line,
        petitioner=PetitionerView(
            id=person.id,
            name=person.name,
            id_number=mask_id_number(person.id_number),
            phone=mask_phone(person.phone),
            village=village.name if village else "",
        ),
        events=events,
        visits=visits,
        accused=None if who.role == Role.DEPARTMENT else await accusations.current(session, case),
        legal_channel=legal_channels.display(case.legal_channel, case.legal_channel_note),
        parties=await party_views(session, case.id),
        tickets=tickets,
        merged_cases=merged_cases,
        merged_into=merged_into,
        split_from=split_from,
        openable=frozenset(
            c.id for c in (*merged_cases, merged_into, split_from) if c and _may_read(who, c)
        ),
    )


async def merged_into_case(session: AsyncSession, case_id: int) -> list[Case]:
    """The cases merged into `case_id`, and those merged into them, oldest first.

    A visited set ends the walk should the rows ever form a cycle (merges refuse one).
    """
    found: list[Case] = []
    seen = {case_id}
    frontier = [case_id]
    while frontier:
        rows = list(
            await session.scalars(
                select(Case).where(Case.merged_into_id.in_(frontier)).order_by(Case.id)
            )
        )
        fresh = [c for c in rows if c.id not in seen]
        seen.update(c.id for c in fresh)
        found.extend(fresh)
        frontier = [c.id for c in fresh]
    return found


async def unmasked_petitioner(
    session: AsyncSession, who: Principal, petitioner_id: int, *, now: datetime
) -> PetitionerView:
    """The petitioner's full identity number and phone, for roles that need them; audited."""
    if who.role not in UNMASK_ROLES:
        raise Forbidden("无权查看完整个人信息")
    person = await session.get(Petitioner, petitioner_id)
    if person is None:
        raise NotFound(f"信访人 {petitioner_id} 不存在")
    if who.role == Role.OFFICER:
        # Any case the person is a party of: petitioner or representative (集体访).
        party_of = select(CaseParty.case_id).where(CaseParty.petitioner_id == person.id)
        lines = set(
            await session.scalars(
                select(Case.line_id).where(
                    or_(Case.petitioner_id == person.id, Case.id.in_(party_of))
                )
            )
        )
        if not lines & who.line_ids:
            raise Forbidden("该信访人没有本条线的信访事项")
    await audit.record(
        session,
        at=now,
        user_id=who.user_id,
        action="read_personal",
        target_type="petitioner",
        target_id=person.id,
    )
    village = await session.get(Village, person.village_id) if person.village_id else None
    return PetitionerView(
        id=person.id,
        name=person.name,
        id_number=person.id_number,
        phone=person.phone,
        village=village.name if village else "",
    )


async def list_cases(session: AsyncSession, who: Principal, *, limit: int = 100) -> list[Case]:
    """The newest cases the caller may read."""
    query = select(Case).order_by(Case.id.desc()).limit(limit)
    if who.role == Role.DEPARTMENT:
        # A department sees the cases it handles now (transferred or assigned to it).
        if who.department_id is None:
            return []
        return list(await session.scalars(query.where(Case.department_id == who.department_id)))
    if who.role not in STAFF_ROLES:
        raise Forbidden("无权查看信访事项列表")
    if who.role == Role.OFFICER:
        query = query.where(Case.line_id.in_(who.line_ids))
    return list(await session.scalars(query))


async def case_id_of_number(session: AsyncSession, number: str) -> int | None:
    """The id of the case with this number (JF…, exact), or None."""
    return await session.scalar(select(Case.id).where(Case.number == number))


async def case_numbers(session: AsyncSession, case_id: int | None = None) -> list[tuple[int, str]]:
    """(id, number) of every case in id order, or of the one case `case_id` (empty if unknown)."""
    query = select(Case.id, Case.number).order_by(Case.id)
    if case_id is not None:
        query = query.where(Case.id == case_id)
    return [(cid, number) for cid, number in await session.execute(query)]


async def petitioner_name(session: AsyncSession, petitioner_id: int) -> str | None:
    """The petitioner's name, unmasked (the caller masks it), or None."""
    return await session.scalar(select(Petitioner.name).where(Petitioner.id == petitioner_id))
