"""case notices: one row per delivery (送达) of a written notice

Revision ID: 0007a
Revises: 0006
Create Date: 2026-11-22 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall.orm import UTCDateTime

revision = "0007a"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table only: no rebuild of an existing one, so foreign keys can stay as they are.
    op.create_table(
        "notice_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_notice_deliveries_case_id", "notice_deliveries", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_notice_deliveries_case_id", table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
