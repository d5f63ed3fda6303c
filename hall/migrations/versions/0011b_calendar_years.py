"""calendar years marked complete: a year the package lacks counts as covered only once an
administrator marks its entries complete (本年已完整录入)

Revision ID: 0011b
Revises: 0010
Create Date: 2026-11-24 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall.orm import UTCDateTime

revision = "0011b"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No year is marked on upgrade: whether the days entered so far are a whole notice is the
    # administrator's statement to make (docs/operations.md, "Entering next year's holidays").
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("marked_by", sa.Integer(), nullable=True),
        sa.Column("marked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["marked_by"], ["users.id"], name="fk_calendar_years_marked_by_users"
        ),
        sa.PrimaryKeyConstraint("year", name="pk_calendar_years"),
    )


def downgrade() -> None:
    op.drop_table("calendar_years")
