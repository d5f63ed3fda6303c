"""Scheduling meetings: who may schedule, edit and cancel, the invitees of four sorts, and who
may see, join and manage a meeting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import Department, Role, User
from hall.accounts.users import Principal
from hall.cases.tables import Case
from hall.errors import Conflict, Forbidden, InvalidInput, NotFound
from hall.meetings import guests, links
from hall.meetings.tables import (
    ExternalRole,
    InviteeSort,
    Meeting,
    MeetingInvitation,
    MeetingKind,
    MeetingState,
    ParticipantRole,
)
from hall.queue.tables import Ticket

# Accounts that may host a meeting or be invited as staff.
STAFF_ROLES = frozenset({Role.OFFICER, Role.DESK, Role.LEADER, Role.SUPERVISOR, Role.ADMIN})
# Roles that schedule any meeting; an officer schedules only for a case of its lines.
SCHEDULERS = frozenset({Role.LEADER, Role.SUPERVISOR})
# A meeting may start at most this long ago when scheduled or moved (a late entry of one that
# is about to start), and lasts 5 minutes to 8 hours.
PAST_START = timedelta(minutes=10)
DURATION_MIN, DURATION_MAX = 5, 480
KINDS_WITHOUT_CASE = frozenset({MeetingKind.JOINT})


class MeetingEnded(Conflict):
    """The meeting ended: nobody joins it and no host control applies any more."""

    code = "meeting_ended"


class MeetingCancelled(Conflict):
    """The meeting was cancelled."""

    code = "meeting_cancelled"


class NotHost(Forbidden):
    """Only the meeting's host may do this (the one error shape, status 403)."""

    code = "forbidden"


@dataclass(frozen=True, slots=True)
class InviteeSpec:
    """One invitee as the scheduler names it: an account (`user_id`), a department
    (`department_id`), the petitioner at the village station that registered the case
    (`terminal`), or an external person (`name`, `organisation`, `external_role`)."""

    sort: InviteeSort
    role: ParticipantRole
    user_id: int | None = None
    department_id: int | None = None
    name: str = ""
    organisation: str = ""
    external_role: ExternalRole | None = None


@dataclass(frozen=True, slots=True)
class MeetingSpec:
    """What a scheduler gives: kind, title, case (None: no single case), start, planned
    duration (minutes), host (a staff account), agenda, invitees."""

    kind: MeetingKind
    title: str
    case_id: int | None
    starts_at: datetime
    duration_min: int
    host_id: int
    agenda: str
    invitees: tuple[InviteeSpec, ...]


async def get_meeting(session: AsyncSession, meeting_id: int) -> Meeting:
    """The meeting, or `not_found`."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"会议 {meeting_id} 不存在")
    return meeting


def may_schedule(who: Principal, case: Case | None) -> None:
    """`forbidden` unless `who` may schedule a meeting on `case` (None: no single case):
    leaders and supervisors any; an officer only for a case of its lines."""
    if who.role in SCHEDULERS:
        return
    if who.role == Role.OFFICER and case is not None and case.line_id in who.line_ids:
        return
    if who.role == Role.OFFICER:
        raise Forbidden("接访人员只能为本条线的信访事项安排会议")
    raise Forbidden("当前角色不能安排会议")


def manages(who: Principal, meeting: Meeting) -> bool:
    """Whether `who` may edit or cancel the meeting, revoke and reissue its links and print its
    invitations: its scheduler, its host, a leader or a supervisor."""
    return who.user_id in (meeting.scheduled_by, meeting.host_id) or who.role in SCHEDULERS


def is_host(who: Principal, meeting: Meeting) -> bool:
    return who.role in STAFF_ROLES and who.user_id == meeting.host_id


def require_host(who: Principal, meeting: Meeting) -> None:
    """`forbidden` unless `who` is the meeting's host now."""
    if not is_host(who, meeting):
        raise NotHost("只有会议主持人可以进行此操作")


def require_open(meeting: Meeting) -> None:
    """`meeting_ended` / `meeting_cancelled` unless the meeting may still be joined."""
    if meeting.state == MeetingState.ENDED:
        raise MeetingEnded("会议已结束，无法加入或操作")
    if meeting.state == MeetingState.CANCELLED:
        raise MeetingCancelled("会议已取消")


async def invitation_for(
    session: AsyncSession, who: Principal, meeting_id: int
) -> MeetingInvitation | None:
    """The invitation through which `who` takes part: its own account's, its department's, its
    station's, or (a guest) its link's."""
    query = select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting_id)
    if who.role == Role.GUEST:
        # A guest's revoked link already ended its session; its invitation stays its own.
        query = query.where(MeetingInvitation.id == who.invitation_id)
    elif who.role == Role.DEPARTMENT:
        query = query.where(
            MeetingInvitation.sort == InviteeSort.DEPARTMENT,
            MeetingInvitation.department_id == who.department_id,
        )
    elif who.role == Role.TERMINAL:
        query = query.where(
            MeetingInvitation.sort == InviteeSort.TERMINAL,
            MeetingInvitation.terminal_id == who.terminal_id,
        )
    else:
        query = query.where(
            MeetingInvitation.sort == InviteeSort.USER, MeetingInvitation.user_id == who.user_id
        )
    if who.role != Role.GUEST:
        query = query.where(MeetingInvitation.revoked_at.is_(None))
    return await session.scalar(query.order_by(MeetingInvitation.id).limit(1))


async def may_view(session: AsyncSession, who: Principal, meeting: Meeting) -> None:
    """`not_found` unless `who` may see the meeting: its host, scheduler, an invitee, a leader
    or supervisor, or an officer of the case's line. A guest sees only its own meeting."""
    if who.role == Role.GUEST:
        invitation = await invitation_for(session, who, meeting.id)
        if invitation is None or invitation.revoked_at is not None:
            raise NotFound(f"会议 {meeting.id} 不存在")
        return
    if manages(who, meeting) or who.role == Role.ADMIN:
        return
    if await invitation_for(session, who, meeting.id) is not None:
        return
    if who.role == Role.OFFICER and meeting.case_id is not None:
        case = await session.get(Case, meeting.case_id)
        if case is not None and case.line_id in who.line_ids:
            return
    raise NotFound(f"会议 {meeting.id} 不存在")


async def viewable(session: AsyncSession, who: Principal, meeting_id: int) -> Meeting:
    """The meeting if `who` may see it, else `not_found`."""
    meeting = await get_meeting(session, meeting_id)
    await may_view(session, who, meeting)
    return meeting


async def registering_station(session: AsyncSession, case: Case) -> int | None:
    """The village station (终端) that registered the case: the station of its first remote
    ticket, else the station of the account that registered it."""
    found = await session.scalar(
        select(Ticket.terminal_id)
        .where(Ticket.case_id == case.id, Ticket.terminal_id.is_not(None))
        .order_by(Ticket.id)
        .limit(1)
    )
    if found is not None:
        return found
    if case.registered_by is None:
        return None
    user = await session.get(User, case.registered_by)
    return None if user is None else user.terminal_id


async def _check_spec(
    session: AsyncSession, spec: MeetingSpec, now: datetime, *, moved: bool
) -> tuple[Case | None, list[MeetingInvitation]]:
    problems: dict[str, str] = {}
    title = spec.title.strip()
    if not title:
        problems["title"] = "请填写会议名称"
    if not DURATION_MIN <= spec.duration_min <= DURATION_MAX:
        problems["duration_min"] = f"会议时长应为{DURATION_MIN}到{DURATION_MAX}分钟"
    if moved and spec.starts_at < now - PAST_START:
        problems["starts_at"] = "开始时间已过"
    case = None
    if spec.case_id is not None:
        case = await session.get(Case, spec.case_id)
        if case is None:
            problems["case_id"] = "信访事项不存在"
    elif spec.kind not in KINDS_WITHOUT_CASE:
        problems["case_id"] = "协调会和包案调度会须关联信访事项（联席会议可不关联）"
    host = await session.get(User, spec.host_id)
    if host is None or not host.active or host.role not in STAFF_ROLES:
        problems["host_id"] = "主持人须为在岗的工作人员账号"
    invitations: list[MeetingInvitation] = []
    seen: set[tuple[str, int | str]] = set()
    for n, invitee in enumerate(spec.invitees):
        where = f"invitees.{n}"
        row, problem = await _invitation(session, invitee, case, now)
        if problem:
            problems[where] = problem
            continue
        assert row is not None  # noqa: S101 - no problem means a row
        key = _target(row)
        if key in seen:
            problems[where] = "重复的受邀人"
        seen.add(key)
        invitations.append(row)
    if problems:
        raise InvalidInput("会议信息有误", fields=problems)
    return case, invitations


def _target(row: MeetingInvitation) -> tuple[str, int | str]:
    if row.sort == InviteeSort.EXTERNAL:
        return (row.sort, f"{row.name}\n{row.organisation}")
    target = row.user_id or row.department_id or row.terminal_id
    return (row.sort, target or 0)


async def _invitation(
    session: AsyncSession, spec: InviteeSpec, case: Case | None, now: datetime
) -> tuple[MeetingInvitation | None, str]:
    row = MeetingInvitation(sort=spec.sort, role=spec.role, created_at=now, name="")
    row.organisation = ""
    if spec.sort == InviteeSort.USER:
        user = None if spec.user_id is None else await session.get(User, spec.user_id)
        if user is None or not user.active or user.role not in STAFF_ROLES:
            return None, "受邀工作人员账号不存在或已停用"
        row.user_id, row.name = user.id, user.display_name
    elif spec.sort == InviteeSort.DEPARTMENT:
        dept = (
            None
            if spec.department_id is None
            else await session.get(Department, spec.department_id)
        )
        if dept is None or not dept.active:
            return None, "责任单位不存在或已停用"
        row.department_id, row.name = dept.id, dept.name
    elif spec.sort == InviteeSort.TERMINAL:
        station = None if case is None else await registering_station(session, case)
        if station is None:
            return None, "该信访事项不是由村信息中心终端登记的，无法邀请信访人经终端参会"
        row.terminal_id, row.name = station, "信访人（村信息中心终端）"
    else:
        name, organisation = spec.name.strip(), spec.organisation.strip()
        if not name or spec.external_role is None:
            return None, "外部人员须填写姓名和身份（律师、心理咨询师、外地区部门、其他）"
        row.name, row.organisation, row.external_role = name, organisation, spec.external_role
        row.nonce = links.new_nonce()
    return row, ""


async def schedule(
    session: AsyncSession, who: Principal, spec: MeetingSpec, *, now: datetime
) -> Meeting:
    """Schedule a meeting; `forbidden` if `who` may not, `invalid_input` naming each wrong
    field (title, duration, start, case, host, each invitee)."""
    case = None if spec.case_id is None else await session.get(Case, spec.case_id)
    may_schedule(who, case)
    case, invitations = await _check_spec(session, spec, now, moved=True)
    meeting = Meeting(
        kind=spec.kind,
        title=spec.title.strip(),
        case_id=spec.case_id,
        starts_at=spec.starts_at,
        duration_min=spec.duration_min,
        agenda=spec.agenda,
        host_id=spec.host_id,
        scheduled_by=who.user_id,
        state=MeetingState.SCHEDULED,
        created_at=now,
    )
    session.add(meeting)
    await session.flush()
    for row in invitations:
        row.meeting_id = meeting.id
        session.add(row)
    await session.flush()
    return meeting


async def edit(
    session: AsyncSession, who: Principal, meeting_id: int, spec: MeetingSpec, *, now: datetime
) -> Meeting:
    """Change a meeting before it starts (state `scheduled`): invitees that stay keep their
    invitation (and link); those left out lose it and any guest session."""
    meeting = await viewable(session, who, meeting_id)
    if not manages(who, meeting):
        raise Forbidden("只有安排人、主持人、领导或督查可以修改会议")
    if meeting.state != MeetingState.SCHEDULED:
        raise Conflict(f"会议状态为 {meeting.state}，开始后不能再修改")
    if spec.case_id != meeting.case_id:
        case = None if spec.case_id is None else await session.get(Case, spec.case_id)
        may_schedule(who, case)
    moved = spec.starts_at != meeting.starts_at
    _, wanted = await _check_spec(session, spec, now, moved=moved)
    existing = {
        _target(row): row
        for row in await invitations_of(session, meeting.id)
        if row.revoked_at is None or row.sort == InviteeSort.EXTERNAL
    }
    for row in wanted:
        kept = existing.pop(_target(row), None)
        if kept is None:
            row.meeting_id = meeting.id
            session.add(row)
        else:
            kept.role = row.role
    for gone in existing.values():
        # Kept as a revoked row: a participant who waited in the lobby still refers to it.
        gone.revoked_at = now
        await guests.end_guest_sessions(session, gone.id)
    meeting.kind, meeting.title, meeting.case_id = spec.kind, spec.title.strip(), spec.case_id
    meeting.starts_at, meeting.duration_min = spec.starts_at, spec.duration_min
    meeting.host_id, meeting.agenda = spec.host_id, spec.agenda
    await session.flush()
    return meeting


async def cancel(
    session: AsyncSession, who: Principal, meeting_id: int, *, now: datetime
) -> Meeting:
    """Cancel a meeting that has not started; every link stops working."""
    meeting = await viewable(session, who, meeting_id)
    if not manages(who, meeting):
        raise Forbidden("只有安排人、主持人、领导或督查可以取消会议")
    if meeting.state != MeetingState.SCHEDULED:
        raise Conflict(f"会议状态为 {meeting.state}，只能取消尚未开始的会议")
    meeting.state = MeetingState.CANCELLED
    meeting.ended_at = now
    for row in await invitations_of(session, meeting.id):
        await guests.end_guest_sessions(session, row.id)
    return meeting


async def invitations_of(session: AsyncSession, meeting_id: int) -> list[MeetingInvitation]:
    """The meeting's current invitations (revoked links included), in order."""
    return list(
        await session.scalars(
            select(MeetingInvitation)
            .where(MeetingInvitation.meeting_id == meeting_id)
            .order_by(MeetingInvitation.id)
        )
    )


async def external_invitation(
    session: AsyncSession, who: Principal, meeting_id: int, invitation_id: int
) -> tuple[Meeting, MeetingInvitation]:
    """An external invitation of a meeting `who` manages (`not_found` / `forbidden`)."""
    meeting = await viewable(session, who, meeting_id)
    invitation = await session.get(MeetingInvitation, invitation_id)
    if invitation is None or invitation.meeting_id != meeting.id:
        raise NotFound(f"邀请 {invitation_id} 不存在")
    if not manages(who, meeting):
        raise Forbidden("只有安排人、主持人、领导或督查可以查看和管理邀请链接")
    return meeting, invitation


async def revoke_link(
    session: AsyncSession, who: Principal, meeting_id: int, invitation_id: int, *, now: datetime
) -> MeetingInvitation:
    """Revoke an external invitee's link: it stops working, its guest session ends."""
    _, invitation = await external_invitation(session, who, meeting_id, invitation_id)
    if invitation.sort != InviteeSort.EXTERNAL:
        raise Conflict("只有外部人员的邀请有链接")
    invitation.revoked_at = now
    await guests.end_guest_sessions(session, invitation.id)
    return invitation


async def reissue_link(
    session: AsyncSession, who: Principal, meeting_id: int, invitation_id: int
) -> MeetingInvitation:
    """A new link for an external invitee (after a revocation or a leak): earlier links of the
    invitation stop working."""
    meeting, invitation = await external_invitation(session, who, meeting_id, invitation_id)
    require_open(meeting)
    if invitation.sort != InviteeSort.EXTERNAL:
        raise Conflict("只有外部人员的邀请有链接")
    invitation.nonce = links.new_nonce()
    invitation.revoked_at = None
    await guests.end_guest_sessions(session, invitation.id)
    return invitation


async def upcoming(session: AsyncSession, who: Principal, *, now: datetime) -> list[Meeting]:
    """The meetings `who` hosts, scheduled or is invited to (as an account, its department or
    its station) that have not ended, by start time."""
    invited = select(MeetingInvitation.meeting_id).where(MeetingInvitation.revoked_at.is_(None))
    if who.role == Role.DEPARTMENT:
        invited = invited.where(MeetingInvitation.department_id == who.department_id)
    elif who.role == Role.TERMINAL:
        invited = invited.where(MeetingInvitation.terminal_id == who.terminal_id)
    else:
        invited = invited.where(MeetingInvitation.user_id == who.user_id)
    query = select(Meeting).where(
        Meeting.state.in_((MeetingState.SCHEDULED, MeetingState.LIVE)),
        Meeting.id.in_(invited)
        | (Meeting.host_id == who.user_id)
        | (Meeting.scheduled_by == who.user_id),
    )
    return list(await session.scalars(query.order_by(Meeting.starts_at, Meeting.id)))
