"""recordings salvaged after a crash: a participant file cut short by a server crash is remuxed at
restart and kept, marked 录制因服务中断而截止

Revision ID: 0012a
Revises: 0011b
Create Date: 2026-11-25 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012a"
down_revision = "0011b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Recordings made so far were finished normally: the server default fills them with false.
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(
            sa.Column("salvaged", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("salvaged")
