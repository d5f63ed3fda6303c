"""case outcome and classification: kept apart from the lifecycle state

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: SQLite adds them in place (ALTER TABLE ADD COLUMN), no table rebuild.
    op.add_column("cases", sa.Column("outcome", sa.String(length=32), nullable=True))
    op.add_column("cases", sa.Column("classification", sa.String(length=32), nullable=True))
    op.add_column("cases", sa.Column("claim_type", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("claim_type")
        batch.drop_column("classification")
        batch.drop_column("outcome")
