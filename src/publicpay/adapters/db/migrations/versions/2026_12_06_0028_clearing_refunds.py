"""Issue 12: refunds paid by bank transfer netted in clearing. `clearing_refunds` holds each
transfer refund a window netted (its matched `REFUND:` debit on the collection account's
statement), once only (unique refund); `clearing_windows.transfer_refunds_fen` is their sum,
taken off what the window sends to the treasury.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "clearing_refunds",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("window_id", ID, nullable=False),
        sa.Column("refund_id", ID, nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["clearing_windows.id"],
            name=op.f("fk_clearing_refunds_window_id_clearing_windows"),
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_clearing_refunds_refund_id_refunds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_refunds")),
        sa.UniqueConstraint("refund_id", name="uq_clearing_refunds_refund_id"),
    )
    op.create_index("ix_clearing_refunds_window_id", "clearing_refunds", ["window_id"])
    with op.batch_alter_table("clearing_windows") as batch:
        batch.add_column(
            sa.Column("transfer_refunds_fen", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("clearing_windows") as batch:
        batch.drop_column("transfer_refunds_fen")
    op.drop_index("ix_clearing_refunds_window_id", table_name="clearing_refunds")
    op.drop_table("clearing_refunds")
