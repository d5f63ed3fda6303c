"""meetings (协调会 / 联席会议 / 包案调度会): scheduled multi-party meetings with invitations,
guest sessions of external invitees, lobby and participants, attendance, host actions, side
rooms, minutes and decisions (议定事项)

Revision ID: 0014a
Revises: 0013a
Create Date: 2026-12-09 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall.orm import UTCDateTime

revision = "0014a"
down_revision = "0013a"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _fk(name: str, target: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(target), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "meetings",
        _id(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        _fk("case_id", "cases.id", nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("agenda", sa.Text(), nullable=False),
        _fk("host_id", "users.id"),
        _fk("scheduled_by", "users.id"),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        _fk("recording_id", "recordings.id", nullable=True),
    )
    op.create_index("ix_meetings_case_id", "meetings", ["case_id"])
    op.create_index("ix_meetings_starts_at", "meetings", ["starts_at"])
    op.create_table(
        "meeting_invitations",
        _id(),
        _fk("meeting_id", "meetings.id"),
        sa.Column("sort", sa.String(length=16), nullable=False),
        _fk("user_id", "users.id", nullable=True),
        _fk("department_id", "departments.id", nullable=True),
        _fk("terminal_id", "terminals.id", nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("organisation", sa.String(length=100), nullable=False),
        sa.Column("external_role", sa.String(length=16), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    for column in ("meeting_id", "user_id", "department_id", "terminal_id"):
        op.create_index(f"ix_meeting_invitations_{column}", "meeting_invitations", [column])
    op.create_table(
        "meeting_side_rooms",
        _id(),
        _fk("meeting_id", "meetings.id"),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_meeting_side_rooms_meeting_id", "meeting_side_rooms", ["meeting_id"])
    op.create_table(
        "meeting_participants",
        _id(),
        _fk("meeting_id", "meetings.id"),
        sa.Column("who", sa.String(length=24), nullable=False),
        _fk("invitation_id", "meeting_invitations.id", nullable=True),
        _fk("user_id", "users.id", nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("was_admitted", sa.Boolean(), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("video_off", sa.Boolean(), nullable=False),
        _fk("side_room_id", "meeting_side_rooms.id", nullable=True),
        sa.UniqueConstraint("meeting_id", "who"),
    )
    op.create_index("ix_meeting_participants_meeting_id", "meeting_participants", ["meeting_id"])
    op.create_table(
        "meeting_attendance",
        _id(),
        _fk("participant_id", "meeting_participants.id"),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.Column("left_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "ix_meeting_attendance_participant_id", "meeting_attendance", ["participant_id"]
    )
    op.create_table(
        "meeting_actions",
        _id(),
        _fk("meeting_id", "meetings.id"),
        sa.Column("at", UTCDateTime(), nullable=False),
        _fk("actor_id", "users.id", nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        _fk("participant_id", "meeting_participants.id", nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_meeting_actions_meeting_id", "meeting_actions", ["meeting_id"])
    op.create_table(
        "meeting_minutes",
        _id(),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meetings.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _fk("written_by", "users.id"),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("meeting_id"),
    )
    op.create_table(
        "meeting_decisions",
        _id(),
        _fk("meeting_id", "meetings.id"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _fk("owner_user_id", "users.id", nullable=True),
        _fk("owner_department_id", "departments.id", nullable=True),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
    )
    for column in ("meeting_id", "owner_user_id", "owner_department_id", "due"):
        op.create_index(f"ix_meeting_decisions_{column}", "meeting_decisions", [column])
    op.create_table(
        "meeting_guest_sessions",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        _fk("invitation_id", "meeting_invitations.id"),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_meeting_guest_sessions_invitation_id", "meeting_guest_sessions", ["invitation_id"]
    )


def downgrade() -> None:
    for table in (
        "meeting_guest_sessions",
        "meeting_decisions",
        "meeting_minutes",
        "meeting_actions",
        "meeting_attendance",
        "meeting_participants",
        "meeting_side_rooms",
        "meeting_invitations",
        "meetings",
    ):
        op.drop_table(table)
