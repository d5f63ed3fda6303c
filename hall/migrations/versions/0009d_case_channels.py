"""legal channel (法定途径) of a refused or redirected case; accused unit (被检举控告单位)

Revision ID: 0009d
Revises: 0008
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009d"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A column with a foreign key: a batch rebuild on SQLite (env.py runs it with keys off).
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("legal_channel", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("legal_channel_note", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("accused_department_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("accused_name", sa.String(length=128), nullable=True))
        batch.create_foreign_key(
            "fk_cases_accused_department", "departments", ["accused_department_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("fk_cases_accused_department", type_="foreignkey")
        batch.drop_column("accused_name")
        batch.drop_column("accused_department_id")
        batch.drop_column("legal_channel_note")
        batch.drop_column("legal_channel")
