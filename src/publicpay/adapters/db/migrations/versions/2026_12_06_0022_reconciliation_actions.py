"""Issue 12, the workbench's actions: a statement line remembers how it was closed (recovered,
refunded, written off, accepted), so clearing and `publicpay check` account for it.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("statement_lines", sa.Column("resolution", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("statement_lines") as batch:
        batch.drop_column("resolution")
