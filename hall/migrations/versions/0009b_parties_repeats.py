"""case parties (当事人: petitioner, representatives of a collective visit, proxy agent), the
collective flag, and the merge / split links of a case (重信重访)

Revision ID: 0009b
Revises: 0008
Create Date: 2026-11-23 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009b"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("collective", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("split_from_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_cases_merged_into", "cases", ["merged_into_id"], ["id"])
        batch.create_foreign_key("fk_cases_split_from", "cases", ["split_from_id"], ["id"])
        batch.create_index("ix_cases_merged_into_id", ["merged_into_id"])
    parties = op.create_table(
        "case_parties",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("petitioner_id", sa.Integer(), sa.ForeignKey("petitioners.id"), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("case_id", "petitioner_id"),
    )
    op.create_index("ix_case_parties_case_id", "case_parties", ["case_id"])
    op.create_index("ix_case_parties_petitioner_id", "case_parties", ["petitioner_id"])
    # Existing cases get their petitioner and, for a terminal's submission, its proxy agent.
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer()),
        sa.column("petitioner_id", sa.Integer()),
        sa.column("registered_by", sa.Integer()),
        sa.column("proxy", sa.Boolean()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    columns = ["case_id", "role", "petitioner_id", "user_id", "added_at"]
    op.execute(
        parties.insert().from_select(
            columns,
            sa.select(
                cases.c.id,
                sa.literal("petitioner"),
                cases.c.petitioner_id,
                sa.null(),
                cases.c.created_at,
            ),
        )
    )
    op.execute(
        parties.insert().from_select(
            columns,
            sa.select(
                cases.c.id,
                sa.literal("proxy_agent"),
                sa.null(),
                cases.c.registered_by,
                cases.c.created_at,
            ).where(cases.c.proxy == sa.true(), cases.c.registered_by.is_not(None)),
        )
    )


def downgrade() -> None:
    op.drop_index("ix_case_parties_petitioner_id", table_name="case_parties")
    op.drop_index("ix_case_parties_case_id", table_name="case_parties")
    op.drop_table("case_parties")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_merged_into_id")
        batch.drop_constraint("fk_cases_split_from", type_="foreignkey")
        batch.drop_constraint("fk_cases_merged_into", type_="foreignkey")
        batch.drop_column("split_from_id")
        batch.drop_column("merged_into_id")
        batch.drop_column("collective")
