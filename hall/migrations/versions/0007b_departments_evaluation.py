"""departments (责任单位), supervision (督办), leader ownership (包案), satisfaction evaluation

Revision ID: 0007b
Revises: 0006
Create Date: 2026-11-22 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007b"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=32), nullable=False, unique=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
    )
    # Columns with a foreign key: a batch rebuild on SQLite (env.py runs it with keys off).
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_users_department", "departments", ["department_id"], ["id"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("leader_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_cases_department", "departments", ["department_id"], ["id"])
        batch.create_foreign_key("fk_cases_leader", "users", ["leader_id"], ["id"])
        batch.create_index("ix_cases_department_id", ["department_id"])
    op.create_table(
        "supervisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("opened_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("feedback_due", sa.Date(), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feedback_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_supervisions_case_id", "supervisions", ["case_id"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("response_seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("case_id", "response_seq"),
    )
    op.create_index("ix_evaluations_case_id", "evaluations", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_evaluations_case_id", table_name="evaluations")
    op.drop_table("evaluations")
    op.drop_index("ix_supervisions_case_id", table_name="supervisions")
    op.drop_table("supervisions")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_department_id")
        batch.drop_constraint("fk_cases_leader", type_="foreignkey")
        batch.drop_constraint("fk_cases_department", type_="foreignkey")
        batch.drop_column("leader_id")
        batch.drop_column("department_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_department", type_="foreignkey")
        batch.drop_column("department_id")
    op.drop_table("departments")
