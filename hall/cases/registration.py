"""Registering a petitioner (信访人) and a matter, opening the case file and the queue ticket."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hall import audit
from hall.accounts import stations
from hall.accounts.tables import Role, User, Village
from hall.accounts.users import Principal
from hall.calendar.deadlines import Rule, due_date
from hall.calendar.workdays import CalendarUnknown, load_calendar
from hall.cases import repeats
from hall.cases.parties import (
    MAX_REPRESENTATIVES,
    Person,
    add_party,
    check_collective,
    people_by_id_number,
    person_problems,
    store_person,
)
from hall.cases.states import label
from hall.cases.tables import Case, CaseParty, CaseState, PartyRole, Visibility
from hall.cases.timeline import append_event
from hall.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    RepeatCandidates,
    TooManyRepresentatives,
)
from hall.queue import queue
from hall.queue.tables import Channel, Line, PriorityClass, PriorityReason, Ticket
from hall.settings import HALL_TZ, CaseSettings, ExtendOver, QueueSettings

_QUERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MAX_SUMMARY = 2000
# The periods that run from receipt (登记): the law's 15 days and the hall's stricter promise.
RECEIPT_RULES = (Rule.ACCEPT, Rule.GENERAL_REPLY)


@dataclass(frozen=True, slots=True)
class RepeatDecision:
    """The registrar's answer to `repeat_candidates` (重信重访): link the visit to the case
    `link` (并入已有事项), or open a new case (确认新事项) having seen the candidates `seen`."""

    link: int | None = None
    seen: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Registration:
    """What a terminal or the desk submits: who (信访人) and what (事项), and the ticket's class.

    `priority_class` normal / priority (with a `priority_reason` among PriorityReason) / urgent
    (desk only, with a free-text reason and the username of the approving leader or supervisor).
    A collective visit (集体访) names up to 5 `representatives`; `repeat` answers a previous
    `repeat_candidates` refusal.
    """

    name: str
    id_number: str
    phone: str
    village_id: int | None
    head_count: int
    summary: str
    line_code: str
    priority_class: str = PriorityClass.NORMAL
    priority_reason: str = ""
    approver: str = ""
    collective: bool = False
    representatives: tuple[Person, ...] = ()
    repeat: RepeatDecision | None = None

    @property
    def petitioner(self) -> Person:
        """The petitioner (the contact person of a collective visit) as a person."""
        return Person(name=self.name, id_number=self.id_number, phone=self.phone)


@dataclass(frozen=True, slots=True)
class Registered:
    """The outcome of a registration: the case (a new one, or the one linked) and the ticket."""

    case: Case
    ticket: Ticket
    line: Line
    linked: bool = False


async def _validate(session: AsyncSession, reg: Registration) -> tuple[Line, Village | None]:
    problems = person_problems(reg.petitioner, "")
    if not 1 <= reg.head_count <= 200:
        problems["head_count"] = "人数应在1至200之间"
    summary = reg.summary.strip()
    if not summary:
        problems["summary"] = "请填写反映事项"
    elif len(summary) > MAX_SUMMARY:
        problems["summary"] = f"事项摘要不超过{MAX_SUMMARY}字"
    line = await session.scalar(select(Line).where(Line.code == reg.line_code))
    if line is None:
        problems["line"] = f"未知条线：{reg.line_code}"
    if reg.priority_class not in tuple(PriorityClass):
        problems["priority_class"] = "类别应为 normal、priority 或 urgent"
    elif reg.priority_class == PriorityClass.PRIORITY:
        if reg.priority_reason not in tuple(PriorityReason):
            problems["priority_reason"] = "优先原因应为 elderly、disabled、pregnant 或 veteran"
    elif reg.priority_class == PriorityClass.URGENT:
        if not 2 <= len(reg.priority_reason.strip()) <= 200:
            problems["priority_reason"] = "加急须写明原因（2至200字）"
        if not reg.approver:
            problems["approver"] = "加急须有批准人"
    village = None
    if reg.village_id is not None:
        village = await session.get(Village, reg.village_id)
        if village is None:
            problems["village_id"] = "未知村（社区）"
    problems.update(
        check_collective(
            reg.petitioner,
            reg.representatives,
            collective=reg.collective,
            head_count=reg.head_count,
        )
    )
    if problems:
        raise InvalidInput("登记信息有误", fields=problems)
    assert line is not None  # noqa: S101 - narrowed by the check above
    return line, village


async def _approver(session: AsyncSession, actor: Principal, reg: Registration) -> int | None:
    """The approving leader or supervisor of an urgent ticket (only the desk may ask for one)."""
    if reg.priority_class != PriorityClass.URGENT:
        return None
    if actor.role not in (Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("只有登记分流区可以登记加急")
    approver = await session.scalar(select(User).where(User.username == reg.approver))
    if approver is None or approver.role not in (Role.LEADER, Role.SUPERVISOR, Role.ADMIN):
        raise InvalidInput("批准人无效", fields={"approver": "批准人须为领导或督查账号"})
    return approver.id


async def _disclosable(
    session: AsyncSession, actor: Principal, found: list[repeats.Candidate]
) -> tuple[list[repeats.Candidate], list[repeats.Candidate]]:
    """The candidates the registrar may be shown, and those withheld from them.

    Staff see every candidate. A village terminal sees only the cases its station acts for
    (`hall.accounts.stations`) and never a 检举控告: another station's cases, or any accusation, are
    flagged on the case for the bureau instead of being disclosed to the village.
    """
    if actor.role != Role.TERMINAL or not found:
        return found, []
    assert actor.terminal_id is not None  # noqa: S101 - register() refuses an unbound terminal
    ours = set(
        await session.scalars(
            select(Case.id).where(
                Case.id.in_([c.case_id for c in found]), stations.acts_for(actor.terminal_id)
            )
        )
    )
    shown = [c for c in found if c.case_id in ours and not c.accusation]
    return shown, [c for c in found if c not in shown]


async def audit_disclosure(
    session: AsyncSession, actor: Principal, refused: RepeatCandidates, *, now: datetime
) -> None:
    """One audit entry per case a `repeat_candidates` refusal showed the registrar (it names
    other cases of the person), written in its own transaction: the refusal stores nothing."""
    for candidate in refused.details.get("candidates", []):
        await audit.record(
            session,
            at=now,
            user_id=actor.user_id,
            action="repeat_candidates",
            target_type="case",
            target_id=candidate["case_id"],
            detail={"similarity": candidate["similarity"]},
        )


def _decide(
    found: list[repeats.Candidate], decision: RepeatDecision | None
) -> repeats.Candidate | None:
    """The case to link to, None for a new case; refuses while the registrar has not chosen.

    Only an open case takes a new visit (`invalid_input` for an ended one, which the
    registrar may only override with a new case)."""
    listed = {"candidates": [c.as_json() for c in found]}
    if decision is None:
        if found:
            raise RepeatCandidates(
                "可能是重复信访：该信访人在本条线有相似事项，请选择并入已有事项或确认新事项",
                details=listed,
            )
        return None
    if decision.link is not None:
        match = next((c for c in found if c.case_id == decision.link), None)
        if match is None:
            raise InvalidInput(
                "所选事项不是本次登记的可能重复事项",
                fields={"repeat_decision.link": "not a repeat candidate of this registration"},
            )
        if not match.linkable:
            raise InvalidInput(
                f"事项 {match.number} 当前为{label(match.state)}，不能并入，请确认新事项",
                fields={"repeat_decision.link": "the case has ended: confirm a new matter"},
            )
        return match
    unseen = {c.case_id for c in found} - set(decision.seen)
    if unseen:
        raise RepeatCandidates("又发现了可能重复的事项，请重新确认", details=listed)
    return None


async def open_case(
    session: AsyncSession,
    *,
    line: Line,
    petitioner_id: int,
    summary: str,
    head_count: int,
    channel: str,
    proxy: bool,
    collective: bool,
    actor_id: int | None,
    now: datetime,
    extend_over: ExtendOver,
    extra: dict[str, object] | None = None,
) -> Case:
    """A new case numbered JF<hall date><id>, with its `registered` event and receipt dues."""
    case = Case(
        number=f"pending-{secrets.token_hex(8)}",
        query_code="".join(secrets.choice(_QUERY_ALPHABET) for _ in range(6)),
        line_id=line.id,
        petitioner_id=petitioner_id,
        state=CaseState.REGISTERED,
        summary=summary,
        head_count=head_count,
        channel=channel,
        proxy=proxy,
        collective=collective,
        registered_by=actor_id,
        created_at=now,
    )
    session.add(case)
    await session.flush()
    # Numbered from the row id: unique without a race between two registrations.
    case.number = f"JF{now.astimezone(HALL_TZ):%Y%m%d}{case.id:06d}"
    await append_event(
        session,
        case_id=case.id,
        kind="registered",
        at=now,
        actor_id=actor_id,
        visibility=Visibility.PUBLIC,
        data={
            "line": line.code,
            "channel": channel,
            "proxy": proxy,
            "collective": collective,
            "due": await receipt_dues(session, now, extend_over),
            **(extra or {}),
        },
    )
    return case


async def _link_parties(
    session: AsyncSession,
    case: Case,
    actor: Principal,
    people: list[tuple[PartyRole, int]],
    now: datetime,
) -> list[int]:
    """Link the registration's people (and the proxy agent) to the case; the new party ids.

    A case keeps at most 5 representatives, also when visits are linked to it.
    """
    added = []
    for role, petitioner_id in people:
        party = await add_party(session, case.id, role, now=now, petitioner_id=petitioner_id)
        if party is not None:
            added.append(party.id)
    if actor.terminal_id is not None:
        # 代办: the village agent's submission is a party of the case in its own role.
        await add_party(session, case.id, PartyRole.PROXY_AGENT, now=now, user_id=actor.user_id)
    representatives = await session.scalar(
        select(func.count())
        .select_from(CaseParty)
        .where(CaseParty.case_id == case.id, CaseParty.role == PartyRole.REPRESENTATIVE)
    )
    if (representatives or 0) > MAX_REPRESENTATIVES:
        raise TooManyRepresentatives(
            f"并入后该事项的代表将超过{MAX_REPRESENTATIVES}名，请确认新事项或减少代表",
            fields={"representatives": f"the case would have {representatives}"},
        )
    return added


async def register(
    session: AsyncSession,
    actor: Principal,
    reg: Registration,
    *,
    channel: Channel,
    now: datetime,
    settings: QueueSettings,
    extend_over: ExtendOver = ExtendOver.HOLIDAYS_AND_WEEKENDS,
    case_settings: CaseSettings | None = None,
) -> Registered:
    """Validate, store the people, open a case (or link a repeat) and put a ticket in the queue.

    `invalid_input` (or a collective visit's own code) lists what is wrong and stores nothing;
    `conflict` if the petitioner already waits in a queue; `repeat_candidates` when the same
    person has a similar matter on the line within `case_settings.repeat_days` and
    `reg.repeat` does not decide (or a candidate appeared that the registrar has not seen).
    """
    case_settings = case_settings or CaseSettings()
    if actor.role == Role.TERMINAL and actor.terminal_id is None:
        raise Conflict("该终端账号未绑定村信息中心，请联系管理员")
    line, village = await _validate(session, reg)
    approver_id = await _approver(session, actor, reg)
    people = [reg.petitioner, *reg.representatives]
    known = await people_by_id_number(session, [p.key for p in people])
    main = known.get(reg.petitioner.key)
    if main is not None:
        already = await queue.ticket_in_play(session, main.id)
        if already is not None:
            raise Conflict(f"该信访人已在排队（{already}），请勿重复取号")
    summary = reg.summary.strip()
    every = await repeats.candidates(
        session,
        person_ids=[p.id for p in known.values()],
        line=line,
        summary=summary,
        now=now,
        days=case_settings.repeat_days,
        threshold=case_settings.repeat_similarity,
    )
    found, withheld = await _disclosable(session, actor, every)
    target = _decide(found, reg.repeat)
    village_id = village.id if village else None
    person = await store_person(session, reg.petitioner, village_id=village_id, now=now)
    linked_people = [(PartyRole.PETITIONER, person.id)]
    for rep in reg.representatives:
        record = await store_person(session, rep, village_id=village_id, now=now)
        linked_people.append((PartyRole.REPRESENTATIVE, record.id))
    if target is None:
        case = await open_case(
            session,
            line=line,
            petitioner_id=person.id,
            summary=summary,
            head_count=reg.head_count,
            channel=channel,
            proxy=actor.terminal_id is not None,
            collective=reg.collective,
            actor_id=actor.user_id,
            now=now,
            extend_over=extend_over,
        )
        if found:
            # 确认新事项: the candidates the registrar overrode stay on the new case's record.
            await append_event(
                session,
                case_id=case.id,
                kind="repeat_overridden",
                at=now,
                actor_id=actor.user_id,
                visibility=Visibility.STAFF,
                data={"candidates": [c.as_record() for c in found]},
            )
        marked_collective = False
    else:
        case = await session.get_one(Case, target.case_id)
        marked_collective = reg.collective and not case.collective
        case.collective = case.collective or reg.collective
    added = await _link_parties(session, case, actor, linked_people, now)
    ticket = await queue.enqueue(
        session,
        line=line,
        case_id=case.id,
        petitioner_id=person.id,
        channel=channel,
        head_count=reg.head_count,
        terminal_id=actor.terminal_id,
        created_by=actor.user_id,
        now=now,
        settings=settings,
        priority_class=reg.priority_class,
        priority_reason=reg.priority_reason.strip(),
        approver_id=approver_id,
    )
    if target is not None:
        # 并入已有事项: the new visit's matter is written on the existing case's timeline.
        await append_event(
            session,
            case_id=case.id,
            kind="repeat_linked",
            at=now,
            actor_id=actor.user_id,
            visibility=Visibility.STAFF,
            data={
                "summary": summary,
                "ticket": ticket.number,
                "channel": channel,
                "head_count": reg.head_count,
                "proxy": actor.terminal_id is not None,
                "similarity": target.score,
                "parties_added": added,
                # 集体访: the linked visit makes the case a collective one from now on.
                "marked_collective": marked_collective,
            },
        )
    if withheld:
        # Not disclosed to the village: the bureau decides whether it repeats these.
        await append_event(
            session,
            case_id=case.id,
            kind="repeat_flagged",
            at=now,
            actor_id=actor.user_id,
            visibility=Visibility.STAFF,
            data={"candidates": [c.as_record() for c in withheld], "ticket": ticket.number},
        )
    return Registered(case=case, ticket=ticket, line=line, linked=target is not None)


async def receipt_dues(
    session: AsyncSession, now: datetime, extend_over: ExtendOver
) -> dict[str, dict[str, str]]:
    """The due dates that run from receipt at `now`, as stored in the `registered` event.

    Each is `{"date", "rule"}`; one the official calendar cannot compute is `{"error", "rule"}`
    naming the date to enter, so the case shows a deadline to fix rather than none (the
    registration itself is not refused: the petitioner is in the hall).
    """
    calendar = await load_calendar(session)
    start = now.astimezone(HALL_TZ).date()
    dues: dict[str, dict[str, str]] = {}
    for rule in RECEIPT_RULES:
        try:
            due = due_date(rule, start, calendar, extend_over=extend_over)
        except CalendarUnknown as exc:
            dues[rule.value] = {"error": exc.message, "rule": rule.value}
        else:
            dues[rule.value] = {"date": due.day.isoformat(), "rule": due.text}
    return dues
