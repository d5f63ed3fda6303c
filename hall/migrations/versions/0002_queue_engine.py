"""queue engine: priority classes, ranking key, offers, grace window, recusal, officer states

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:27:58.843059
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall.orm import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officer_status",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("idle_since", UTCDateTime(), nullable=True),
        sa.Column("wrap_up_until", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "ticket_exclusions",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("ticket_id", "user_id"),
    )
    with op.batch_alter_table("lines") as batch:
        batch.add_column(
            sa.Column("auto_offer", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    # Existing queue-log rows take their ticket's line.
    with op.batch_alter_table("ticket_events") as batch:
        batch.add_column(sa.Column("line_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE ticket_events SET line_id = "
        "(SELECT tickets.line_id FROM tickets WHERE tickets.id = ticket_events.ticket_id)"
    )
    with op.batch_alter_table("ticket_events") as batch:
        batch.alter_column("line_id", existing_type=sa.Integer(), nullable=False)
        batch.create_index("ix_ticket_events_line_at", ["line_id", "at"], unique=False)
        batch.create_foreign_key("fk_ticket_events_line_id_lines", "lines", ["line_id"], ["id"])

    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column(
                "priority_class", sa.String(length=16), nullable=False, server_default="normal"
            )
        )
        batch.add_column(
            sa.Column("priority_reason", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("approver_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rank_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("missed_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("preferred_officer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("preferred_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("offered_to", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("offer_expires_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("disconnected_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("transferred_from_id", sa.Integer(), nullable=True))
    # Tickets before this revision were all of the normal class: rank = effective start.
    op.execute("UPDATE tickets SET rank_at = effective_start")
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("rank_at", existing_type=UTCDateTime(), nullable=False)
        batch.create_index("ix_tickets_line_state_rank", ["line_id", "state", "rank_at"])
        batch.create_foreign_key("fk_tickets_approver_id_users", "users", ["approver_id"], ["id"])
        batch.create_foreign_key(
            "fk_tickets_preferred_officer_id_users", "users", ["preferred_officer_id"], ["id"]
        )
        batch.create_foreign_key("fk_tickets_offered_to_users", "users", ["offered_to"], ["id"])
        batch.create_foreign_key(
            "fk_tickets_transferred_from_id_tickets", "tickets", ["transferred_from_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("fk_tickets_transferred_from_id_tickets", type_="foreignkey")
        batch.drop_constraint("fk_tickets_offered_to_users", type_="foreignkey")
        batch.drop_constraint("fk_tickets_preferred_officer_id_users", type_="foreignkey")
        batch.drop_constraint("fk_tickets_approver_id_users", type_="foreignkey")
        batch.drop_index("ix_tickets_line_state_rank")
        for column in (
            "transferred_from_id",
            "disconnected_at",
            "offer_expires_at",
            "offered_to",
            "preferred_until",
            "preferred_officer_id",
            "missed_count",
            "rank_at",
            "approver_id",
            "priority_reason",
            "priority_class",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_constraint("fk_ticket_events_line_id_lines", type_="foreignkey")
        batch.drop_index("ix_ticket_events_line_at")
        batch.drop_column("line_id")
    with op.batch_alter_table("lines") as batch:
        batch.drop_column("auto_offer")
    op.drop_table("ticket_exclusions")
    op.drop_table("officer_status")
