"""Lists, statistics, exports and supervision alerts (issue 10): export jobs, alert acknowledgements, statistics indexes.

Placeholder reserved so the areas developed in parallel keep one linear chain; the area fills
in its own upgrade and downgrade here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
