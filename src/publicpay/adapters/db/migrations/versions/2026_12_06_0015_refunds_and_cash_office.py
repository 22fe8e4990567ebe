"""Refunds with approval and the cash office (issue 11): refund requests and approvals, payee accounts, shift closes, deposit slips.

Placeholder reserved so the areas developed in parallel keep one linear chain; the area fills
in its own upgrade and downgrade here.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
