"""Statistics off the payment's hot rows (issue 8): a payment's tally is written to
`stats_pending` (one row, no index) in its transaction, and folded into the three summaries by
the worker and by the statistics pages before they read (`adapters/db/statistics.py`). Before,
each payment upserted three summary rows, a tenth of a confirmation's work.

On PostgreSQL the table has no key, so it is given `REPLICA IDENTITY FULL`: a fold's DELETE can
then be replicated by a logical publication that includes every table.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stats_pending",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("unit_id", ID, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("window_id", ID, nullable=False),
        sa.Column("device_id", ID, nullable=False),
        sa.Column("sign", sa.SmallInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE stats_pending REPLICA IDENTITY FULL")


def downgrade() -> None:
    waiting = op.get_bind().execute(sa.text("SELECT count(*) FROM stats_pending")).scalar()
    if waiting:  # 0031's code would never count them: fold first (`publicpay worker --once`)
        raise RuntimeError(f"{waiting} statistics tallies are not folded yet: run the worker first")
    op.drop_table("stats_pending")
