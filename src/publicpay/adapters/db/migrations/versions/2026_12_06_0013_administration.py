"""Administration (issue 10): regions, units' sites and windows, the fee catalogue's standards history, users and roles, webhook endpoints, audit viewer.

Placeholder reserved so the areas developed in parallel keep one linear chain; the area fills
in its own upgrade and downgrade here.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
