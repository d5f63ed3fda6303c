"""department aliases (简称 / 别名): the other names of a responsible department, matched by the
检举控告 rule against the accused unit

Revision ID: 0013a
Revises: 0012a
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013a"
down_revision = "0012a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Departments registered so far have no alias yet: the server default fills them with [].
    with op.batch_alter_table("departments") as batch:
        batch.add_column(
            sa.Column("aliases", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("aliases")
