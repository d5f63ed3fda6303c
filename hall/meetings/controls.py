"""Host controls (主持人操作): ask to unmute, mute, video off, remove (and block), hand over the
host, change a role, side rooms, end for all. Recorded and published now; the media effect is
applied by the media room (later)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hall.accounts.tables import User
from hall.accounts.users import Principal
from hall.errors import Conflict, InvalidInput, NotFound
from hall.meetings import lobby, minutes
from hall.meetings.lobby import hosted, participant, record
from hall.meetings.scheduling import STAFF_ROLES
from hall.meetings.tables import (
    Meeting,
    MeetingParticipant,
    MeetingSideRoom,
    MeetingState,
    ParticipantRole,
    ParticipantState,
)


class Control(StrEnum):
    """A host control addressed to one participant's media."""

    ASK_UNMUTE = "ask_unmute"  # 请求开麦: the participant decides
    MUTE = "mute"  # 静音
    VIDEO_OFF = "video_off"  # 关闭视频


async def _present(
    session: AsyncSession, meeting: Meeting, participant_id: int
) -> MeetingParticipant:
    row = await participant(session, meeting, participant_id)
    if row.state != ParticipantState.ADMITTED:
        raise Conflict(f"该参会人不在会议中（状态 {row.state}）")
    return row


async def control(
    session: AsyncSession,
    who: Principal,
    meeting_id: int,
    participant_id: int,
    action: Control,
    *,
    now: datetime,
) -> MeetingParticipant:
    """Apply a media control to a participant in the meeting (host only)."""
    meeting = await hosted(session, who, meeting_id)
    row = await _present(session, meeting, participant_id)
    if action == Control.MUTE:
        row.muted = True
    elif action == Control.VIDEO_OFF:
        row.video_off = True
    record(session, meeting, who, action, now, row)
    return row


async def remove(
    session: AsyncSession, who: Principal, meeting_id: int, participant_id: int, *, now: datetime
) -> MeetingParticipant:
    """Remove a participant (in the meeting or waiting) and block their rejoining."""
    meeting = await hosted(session, who, meeting_id)
    row = await participant(session, meeting, participant_id)
    if row.user_id == meeting.host_id:
        raise Conflict("主持人不能移出自己，请先移交主持人")
    if row.state == ParticipantState.REMOVED:
        return row
    await lobby.close_attendance(session, row, now)
    row.state, row.since, row.side_room_id = ParticipantState.REMOVED, now, None
    record(session, meeting, who, "removed", now, row)
    return row


async def hand_over(
    session: AsyncSession, who: Principal, meeting_id: int, participant_id: int, *, now: datetime
) -> MeetingParticipant:
    """Make another participant in the meeting the host; they must be a staff account."""
    meeting = await hosted(session, who, meeting_id)
    row = await _present(session, meeting, participant_id)
    user = None if row.user_id is None else await session.get(User, row.user_id)
    if user is None or user.role not in STAFF_ROLES:
        raise InvalidInput(
            "只能移交给参会的工作人员", fields={"participant_id": "只能移交给参会的工作人员"}
        )
    meeting.host_id = user.id
    record(session, meeting, who, "host_handed_over", now, row)
    return row


async def set_role(
    session: AsyncSession,
    who: Principal,
    meeting_id: int,
    participant_id: int,
    role: ParticipantRole,
    *,
    now: datetime,
) -> MeetingParticipant:
    """Make a participant a speaker or an observer."""
    meeting = await hosted(session, who, meeting_id)
    row = await participant(session, meeting, participant_id)
    if row.state == ParticipantState.REMOVED:
        raise Conflict("该参会人已被移出会议")
    row.role = role
    record(session, meeting, who, "role_changed", now, row, role=role)
    return row


async def open_side_room(
    session: AsyncSession,
    who: Principal,
    meeting_id: int,
    name: str,
    participant_ids: list[int],
    *,
    now: datetime,
) -> MeetingSideRoom:
    """Open a private side room for named participants in the meeting (e.g. the petitioner with
    the lawyer); each must be in the meeting and in no other open side room."""
    meeting = await hosted(session, who, meeting_id)
    if not name.strip():
        raise InvalidInput("请填写分组名称", fields={"name": "请填写分组名称"})
    if not participant_ids or len(set(participant_ids)) != len(participant_ids):
        raise InvalidInput("请选择不重复的参会人", fields={"participants": "请选择不重复的参会人"})
    members = [await _present(session, meeting, pid) for pid in participant_ids]
    busy = [m.name for m in members if m.side_room_id is not None]
    if busy:
        raise Conflict(f"已在其他分组中：{'、'.join(busy)}")
    room = MeetingSideRoom(meeting_id=meeting.id, name=name.strip(), opened_at=now)
    session.add(room)
    await session.flush()
    for member in members:
        member.side_room_id = room.id
    record(
        session, meeting, who, "side_room_opened", now, None, room=room.id, members=participant_ids
    )
    return room


async def close_side_room(
    session: AsyncSession, who: Principal, meeting_id: int, room_id: int, *, now: datetime
) -> MeetingSideRoom:
    """Close a side room: its members return to the meeting."""
    meeting = await hosted(session, who, meeting_id)
    room = await session.get(MeetingSideRoom, room_id)
    if room is None or room.meeting_id != meeting.id:
        raise NotFound(f"分组 {room_id} 不存在")
    if room.closed_at is not None:
        return room
    room.closed_at = now
    await _empty(session, room)
    record(session, meeting, who, "side_room_closed", now, None, room=room.id)
    return room


async def _empty(session: AsyncSession, room: MeetingSideRoom) -> None:
    members = await session.scalars(
        select(MeetingParticipant).where(MeetingParticipant.side_room_id == room.id)
    )
    for member in members:
        member.side_room_id = None


async def end(session: AsyncSession, who: Principal, meeting_id: int, *, now: datetime) -> Meeting:
    """End the meeting for all: everyone leaves, attendance closes, side rooms close; on a case,
    `meeting_held` (and the minutes, if written) land in its timeline."""
    meeting = await hosted(session, who, meeting_id)
    if meeting.state != MeetingState.LIVE:
        raise Conflict("会议尚未开始")
    people = await session.scalars(
        select(MeetingParticipant).where(MeetingParticipant.meeting_id == meeting.id)
    )
    for row in people:
        await lobby.close_attendance(session, row, now)
        if row.state in (ParticipantState.ADMITTED, ParticipantState.WAITING):
            row.state, row.since = ParticipantState.LEFT, now
        row.side_room_id = None
    rooms = await session.scalars(
        select(MeetingSideRoom).where(
            MeetingSideRoom.meeting_id == meeting.id, MeetingSideRoom.closed_at.is_(None)
        )
    )
    for room in rooms:
        room.closed_at = now
    meeting.state, meeting.ended_at = MeetingState.ENDED, now
    record(session, meeting, who, "ended", now)
    await session.flush()
    await minutes.post_held(session, meeting, who, now=now)
    return meeting
