"""departments can be deactivated (停用): they keep their history but receive no new cases

Revision ID: 0009c
Revises: 0008
Create Date: 2026-11-23 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009c"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing departments stay active: the server default fills the rows already there.
    with op.batch_alter_table("departments") as batch:
        batch.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("active")
