"""queue indexes: the line's latest answers for the priority quota

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_ticket_events_line_kind_id", "ticket_events", ["line_id", "kind", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_events_line_kind_id", table_name="ticket_events")
