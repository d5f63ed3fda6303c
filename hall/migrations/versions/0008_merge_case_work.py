"""merge: case deadlines and notices (0007a) with departments and evaluation (0007b)

Revision ID: 0008
Revises: 0007a, 0007b
Create Date: 2026-11-22 06:50:00
"""

from __future__ import annotations

revision = "0008"
down_revision = ("0007a", "0007b")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: joins the two branches into one head."""


def downgrade() -> None:
    """Nothing to change."""
