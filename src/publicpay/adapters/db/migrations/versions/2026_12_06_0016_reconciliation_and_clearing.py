"""Reconciliation and clearing (issue 12): statements and their lines, matches, exceptions, holding pool, clearing windows, treasury vouchers and receipts.

Placeholder reserved so the areas developed in parallel keep one linear chain; the area fills
in its own upgrade and downgrade here.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
