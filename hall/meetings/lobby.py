"""The lobby (等候室) and attendance: joining puts an invitee in the lobby until the host admits
them (the host goes straight in and opens the meeting); one who drops and rejoins within the
seat-hold window is admitted again without the host; removed participants stay out. Every stay
in the meeting is an attendance row with its join and leave times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.users import Principal
from hall.errors import Conflict, Forbidden, NotFound
from hall.meetings import scheduling
from hall.meetings.scheduling import is_host, require_host, require_open
from hall.meetings.tables import (
    Meeting,
    MeetingAction,
    MeetingAttendance,
    MeetingParticipant,
    MeetingSideRoom,
    MeetingState,
    ParticipantRole,
    ParticipantState,
)


class RemovedFromMeeting(Forbidden):
    """The host removed this participant; they may not rejoin."""

    code = "removed_from_meeting"


def participant_key(who: Principal) -> str:
    """The participant identity of a caller: `u<user id>` or, for a guest, `g<invitation id>`."""
    return f"g{who.invitation_id}" if who.invitation_id is not None else f"u{who.user_id}"


async def participant_of(
    session: AsyncSession, meeting_id: int, who: Principal
) -> MeetingParticipant | None:
    """The caller's participant row in the meeting, if it ever joined."""
    return await session.scalar(
        select(MeetingParticipant).where(
            MeetingParticipant.meeting_id == meeting_id,
            MeetingParticipant.who == participant_key(who),
        )
    )


async def participant(
    session: AsyncSession, meeting: Meeting, participant_id: int
) -> MeetingParticipant:
    """A participant of the meeting, or `not_found`."""
    row = await session.get(MeetingParticipant, participant_id)
    if row is None or row.meeting_id != meeting.id:
        raise NotFound(f"参会人 {participant_id} 不存在")
    return row


def record(
    session: AsyncSession,
    meeting: Meeting,
    who: Principal | None,
    action: str,
    now: datetime,
    target: MeetingParticipant | None = None,
    **data: Any,
) -> None:
    """Record a lobby decision or host control of the meeting."""
    session.add(
        MeetingAction(
            meeting_id=meeting.id,
            at=now,
            actor_id=who.user_id if who is not None and who.user_id > 0 else None,
            action=action,
            participant_id=None if target is None else target.id,
            data=data,
        )
    )


async def admit_now(session: AsyncSession, row: MeetingParticipant, now: datetime) -> None:
    """Put a participant into the meeting and open its attendance row."""
    row.state, row.since, row.message, row.was_admitted = (
        ParticipantState.ADMITTED,
        now,
        "",
        True,
    )
    session.add(MeetingAttendance(participant_id=row.id, joined_at=now))
    await session.flush()


async def close_attendance(session: AsyncSession, row: MeetingParticipant, now: datetime) -> None:
    """Close the participant's open attendance row, if any."""
    stays = await session.scalars(
        select(MeetingAttendance).where(
            MeetingAttendance.participant_id == row.id, MeetingAttendance.left_at.is_(None)
        )
    )
    for stay in stays:
        stay.left_at = now


async def join(
    session: AsyncSession,
    who: Principal,
    meeting_id: int,
    *,
    now: datetime,
    seat_hold_s: int,
) -> MeetingParticipant:
    """`who` joins the meeting: the host goes in (and opens it); an invitee waits in the lobby,
    or goes straight back in after a drop within `seat_hold_s`. `not_found` for someone not
    invited, `meeting_ended` / `meeting_cancelled`, `removed_from_meeting`. Idempotent."""
    meeting = await scheduling.viewable(session, who, meeting_id)
    require_open(meeting)
    host = is_host(who, meeting)
    invitation = await scheduling.invitation_for(session, who, meeting.id)
    if not host and invitation is None:
        raise NotFound(f"您不在会议 {meeting_id} 的受邀名单中")
    row = await participant_of(session, meeting.id, who)
    if row is None:
        row = MeetingParticipant(
            meeting_id=meeting.id,
            who=participant_key(who),
            invitation_id=None if invitation is None else invitation.id,
            user_id=who.user_id if who.user_id > 0 else None,
            name=_name(who, invitation),
            role=ParticipantRole.SPEAKER if invitation is None else invitation.role,
            state=ParticipantState.LEFT,
            since=now,
            message="",
            was_admitted=False,
            muted=False,
            video_off=False,
        )
        session.add(row)
        await session.flush()
    if row.state == ParticipantState.REMOVED:
        raise RemovedFromMeeting("您已被主持人移出本次会议，不能再次加入")
    if row.state in (ParticipantState.ADMITTED, ParticipantState.WAITING) and not host:
        return row
    if host:
        if meeting.state == MeetingState.SCHEDULED:
            meeting.state, meeting.started_at = MeetingState.LIVE, now
        if row.state != ParticipantState.ADMITTED:
            await admit_now(session, row, now)
        return row
    held = timedelta(seconds=seat_hold_s)
    if row.state == ParticipantState.LEFT and row.was_admitted and now - row.since <= held:
        await admit_now(session, row, now)
        record(session, meeting, who, "rejoined", now, row)
        return row
    row.state, row.since, row.message = ParticipantState.WAITING, now, ""
    return row


def _name(who: Principal, invitation: Any) -> str:
    if invitation is not None and invitation.sort in ("department", "external", "terminal"):
        if invitation.sort == "department":
            return f"{invitation.name}（{who.display_name}）"
        if invitation.sort == "external" and invitation.organisation:
            return f"{invitation.name}（{invitation.organisation}）"
        return str(invitation.name)
    return who.display_name


async def leave(session: AsyncSession, who: Principal, meeting_id: int, *, now: datetime) -> None:
    """`who` leaves (or dropped out of) the meeting or its lobby; idempotent."""
    meeting = await scheduling.viewable(session, who, meeting_id)
    row = await participant_of(session, meeting.id, who)
    if row is None or row.state not in (ParticipantState.ADMITTED, ParticipantState.WAITING):
        return
    await close_attendance(session, row, now)
    row.state, row.since, row.side_room_id = ParticipantState.LEFT, now, None


async def hosted(session: AsyncSession, who: Principal, meeting_id: int) -> Meeting:
    """The meeting, if it may still be joined and `who` is its host (`not_found`,
    `meeting_ended` / `meeting_cancelled`, `forbidden`)."""
    meeting = await scheduling.viewable(session, who, meeting_id)
    require_open(meeting)
    require_host(who, meeting)
    return meeting


async def admit(
    session: AsyncSession, who: Principal, meeting_id: int, participant_id: int, *, now: datetime
) -> MeetingParticipant:
    """The host admits one waiting participant."""
    meeting = await hosted(session, who, meeting_id)
    row = await participant(session, meeting, participant_id)
    if row.state != ParticipantState.WAITING:
        raise Conflict(f"该参会人不在等候室（状态 {row.state}）")
    await admit_now(session, row, now)
    record(session, meeting, who, "admitted", now, row)
    return row


async def admit_all(
    session: AsyncSession, who: Principal, meeting_id: int, *, now: datetime
) -> list[MeetingParticipant]:
    """The host admits everyone waiting; returns them."""
    meeting = await hosted(session, who, meeting_id)
    waiting = list(
        await session.scalars(
            select(MeetingParticipant).where(
                MeetingParticipant.meeting_id == meeting.id,
                MeetingParticipant.state == ParticipantState.WAITING,
            )
        )
    )
    for row in waiting:
        await admit_now(session, row, now)
        record(session, meeting, who, "admitted", now, row)
    return waiting


async def deny(
    session: AsyncSession,
    who: Principal,
    meeting_id: int,
    participant_id: int,
    message: str,
    *,
    now: datetime,
) -> MeetingParticipant:
    """The host refuses a waiting participant entry, with a message for them."""
    meeting = await hosted(session, who, meeting_id)
    row = await participant(session, meeting, participant_id)
    if row.state != ParticipantState.WAITING:
        raise Conflict(f"该参会人不在等候室（状态 {row.state}）")
    row.state, row.since, row.message = ParticipantState.DENIED, now, message.strip()
    record(session, meeting, who, "denied", now, row, message=row.message)
    return row


async def attendance(session: AsyncSession, meeting_id: int) -> list[dict[str, Any]]:
    """Each participant who was in the meeting with every stay (join and leave times) and the
    total seconds present."""
    rows = (
        await session.execute(
            select(MeetingParticipant, MeetingAttendance)
            .join(MeetingAttendance, MeetingAttendance.participant_id == MeetingParticipant.id)
            .where(MeetingParticipant.meeting_id == meeting_id)
            .order_by(MeetingAttendance.joined_at, MeetingAttendance.id)
        )
    ).all()
    people: dict[int, dict[str, Any]] = {}
    for person, stay in rows:
        entry = people.setdefault(
            person.id,
            {"participant_id": person.id, "name": person.name, "role": person.role, "stays": []},
        )
        entry["stays"].append(
            {
                "joined_at": stay.joined_at.isoformat(),
                "left_at": None if stay.left_at is None else stay.left_at.isoformat(),
            }
        )
        if stay.left_at is not None:
            entry["present_s"] = entry.get("present_s", 0) + round(
                (stay.left_at - stay.joined_at).total_seconds()
            )
    for entry in people.values():
        entry.setdefault("present_s", 0)
    return list(people.values())


async def snapshot(session: AsyncSession, meeting: Meeting) -> dict[str, Any]:
    """What every participant's page shows live: the meeting's state and host, who waits (since
    when), who is in (role, muted, video off, side room) and the open side rooms."""
    people = list(
        await session.scalars(
            select(MeetingParticipant)
            .where(MeetingParticipant.meeting_id == meeting.id)
            .order_by(MeetingParticipant.since, MeetingParticipant.id)
        )
    )
    rooms = list(
        await session.scalars(
            select(MeetingSideRoom).where(
                MeetingSideRoom.meeting_id == meeting.id, MeetingSideRoom.closed_at.is_(None)
            )
        )
    )
    return {
        "meeting_id": meeting.id,
        "state": meeting.state,
        "host_id": meeting.host_id,
        "participants": [
            {
                "id": p.id,
                "name": p.name,
                "role": p.role,
                "state": p.state,
                "since": p.since.isoformat(),
                "host": p.user_id == meeting.host_id,
                "muted": p.muted,
                "video_off": p.video_off,
                "side_room_id": p.side_room_id,
            }
            for p in people
        ],
        "waiting": [
            {"id": p.id, "name": p.name, "since": p.since.isoformat()}
            for p in people
            if p.state == ParticipantState.WAITING
        ],
        "side_rooms": [{"id": r.id, "name": r.name} for r in rooms],
    }
