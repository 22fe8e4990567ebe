"""Payer portal and window POS (issue 13): payers' messages, business attributes of payables, payer verification codes.

Placeholder reserved so the areas developed in parallel keep one linear chain; the area fills
in its own upgrade and downgrade here.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
