"""merge: documents (0009a), parties and repeats (0009b), department activity (0009c), legal
channels and the accused unit (0009d)

Revision ID: 0010
Revises: 0009a, 0009b, 0009c, 0009d
Create Date: 2026-11-22 08:05:00
"""

from __future__ import annotations

revision = "0010"
down_revision = ("0009a", "0009b", "0009c", "0009d")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: joins the four branches into one head."""


def downgrade() -> None:
    """Nothing to change."""
