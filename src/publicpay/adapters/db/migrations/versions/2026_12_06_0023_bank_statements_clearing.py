"""Issue 12: the clearing schedule's lease — one row per business day and collection account, claimed by one worker of the cluster (retaken after a while when that worker did not finish).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "clearing_runs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_runs")),
        sa.UniqueConstraint("business_day", "account", name="uq_clearing_runs_day_account"),
    )


def downgrade() -> None:
    op.drop_table("clearing_runs")
