"""Meetings (协调会 / 联席会议 / 包案调度会): their tables — the meeting, its invitations, its
participants with their lobby state, attendance, host actions, side rooms, minutes, decisions
(议定事项) and the guest sessions of external invitees."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hall.orm import Base


class MeetingKind(StrEnum):
    """The kind of a meeting."""

    COORDINATION = "coordination"  # 协调会
    JOINT = "joint"  # 联席会议 (e.g. the monthly seven-lines joint meeting, no single case)
    DISPATCH = "dispatch"  # 包案调度会


class MeetingState(StrEnum):
    """Lifecycle of a meeting: scheduled → live (the host opened it) → ended; or cancelled."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class InviteeSort(StrEnum):
    """Who an invitation names."""

    USER = "user"  # a staff account
    DEPARTMENT = "department"  # a responsible department: any of its accounts
    TERMINAL = "terminal"  # the petitioner at a village station: any account of the station
    EXTERNAL = "external"  # a person with no account, joining by a signed link


class ExternalRole(StrEnum):
    """What an external invitee is."""

    LAWYER = "lawyer"  # 律师
    COUNSELLOR = "counsellor"  # 心理咨询师
    OTHER_REGION = "other_region"  # 外地区部门
    OTHER = "other"  # 其他


class ParticipantRole(StrEnum):
    """A participant's role in the meeting."""

    SPEAKER = "speaker"  # 发言人
    OBSERVER = "observer"  # 列席


class ParticipantState(StrEnum):
    """Where a participant is: in the lobby, in the meeting, denied, gone or removed."""

    WAITING = "waiting"  # 等候室, since `since`
    ADMITTED = "admitted"  # in the meeting
    DENIED = "denied"  # the host refused entry (with a message); may ask again
    LEFT = "left"  # dropped or left; re-admitted without the host within the seat-hold window
    REMOVED = "removed"  # removed by the host and blocked from rejoining


class Meeting(Base):
    """A scheduled multi-party video meeting (协调会 / 联席会议 / 包案调度会)."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # MeetingKind
    title: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    duration_min: Mapped[int] = mapped_column(Integer)
    agenda: Mapped[str] = mapped_column(Text, default="")
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scheduled_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default=MeetingState.SCHEDULED)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # The meeting's composite recording; recordings of meetings come with the media work.
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id"))


class MeetingInvitation(Base):
    """One invitee of a meeting: an account, a department, a village station or an external
    person (name, organisation, role) who joins by a signed link carrying `id` and `nonce`."""

    __tablename__ = "meeting_invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    sort: Mapped[str] = mapped_column(String(16))  # InviteeSort
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), index=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    organisation: Mapped[str] = mapped_column(String(100), default="")
    external_role: Mapped[str | None] = mapped_column(String(16))  # ExternalRole
    role: Mapped[str] = mapped_column(String(16))  # ParticipantRole
    # The link's secret part: a new nonce invalidates every earlier link of the invitation.
    nonce: Mapped[str | None] = mapped_column(String(32))
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MeetingParticipant(Base):
    """A person in (or waiting for) a meeting: an account, or the guest of an external
    invitation; `who` is `u<user id>` or `g<invitation id>`."""

    __tablename__ = "meeting_participants"
    __table_args__ = (UniqueConstraint("meeting_id", "who"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    who: Mapped[str] = mapped_column(String(24))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_invitations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # ParticipantRole
    state: Mapped[str] = mapped_column(String(16))  # ParticipantState
    since: Mapped[datetime]  # when the state began (waiting since, admitted since, ...)
    message: Mapped[str] = mapped_column(String(200), default="")  # the host's denial
    was_admitted: Mapped[bool] = mapped_column(Boolean, default=False)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    video_off: Mapped[bool] = mapped_column(Boolean, default=False)
    side_room_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_side_rooms.id"))


class MeetingAttendance(Base):
    """One stay of a participant in the meeting: admitted at `joined_at`, gone at `left_at`."""

    __tablename__ = "meeting_attendance"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("meeting_participants.id"), index=True)
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]


class MeetingAction(Base):
    """A host control or lobby decision, as recorded (admit, deny, mute, remove, ...)."""

    __tablename__ = "meeting_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_participants.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MeetingSideRoom(Base):
    """A private side room (e.g. the petitioner with the lawyer), open until closed."""

    __tablename__ = "meeting_side_rooms"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class MeetingMinutes(Base):
    """The minutes (会议纪要) of a meeting, written by the host; `revision` counts saves."""

    __tablename__ = "meeting_minutes"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    written_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class MeetingDecision(Base):
    """A decision (议定事项) of the minutes: what, whose (an account or a department), by when."""

    __tablename__ = "meeting_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id"), index=True
    )
    due: Mapped[date] = mapped_column(Date, index=True)
    done_at: Mapped[datetime | None]


class GuestSession(Base):
    """A browser's session as the guest of one external invitation (no account); the cookie
    holds a token whose SHA-256 is the key. One live session per invitation at a time."""

    __tablename__ = "meeting_guest_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("meeting_invitations.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
