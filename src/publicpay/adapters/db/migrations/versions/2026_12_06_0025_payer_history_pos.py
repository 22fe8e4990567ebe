"""Window POS (issue 13): a POS terminal's card terminal id at the acquirer (TID), and the URL
and secret of a unit's business-record query (asking the business system, 或向业务系统查询).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("card_terminal_id", sa.String(8), nullable=True))
    op.add_column("units", sa.Column("lookup_url", sa.String(500), nullable=True))
    op.add_column("units", sa.Column("lookup_secret_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_column("lookup_secret_enc")
        batch.drop_column("lookup_url")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("card_terminal_id")
