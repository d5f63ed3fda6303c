"""visits per call: a ticket recalled after a missed call (过号) gets a new visit

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Names the unique constraint SQLite reflects without one, so batch mode can drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Batch mode copies the table and drops the old one, which recordings reference;
        # SQLite's procedure for rebuilding a table turns foreign keys off meanwhile.
        op.execute("PRAGMA foreign_keys = OFF")
        with op.batch_alter_table("visits", naming_convention=NAMING) as batch:
            batch.drop_constraint("uq_visits_ticket_id", type_="unique")
            batch.create_index("ix_visits_ticket_id", ["ticket_id"], unique=False)
        op.execute("PRAGMA foreign_keys = ON")
    else:
        op.drop_constraint("visits_ticket_id_key", "visits", type_="unique")
        op.create_index("ix_visits_ticket_id", "visits", ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visits", naming_convention=NAMING) as batch:
        batch.drop_index("ix_visits_ticket_id")
        batch.create_unique_constraint("uq_visits_ticket_id", ["ticket_id"])
