"""Clearing never sends a budget level (or the special account) a negative amount: what a window
cannot take back from a level that day is held and carried to the next window. `clearing_holds`
keeps each held part of a refund line (its payment code, subject, level, destination, the
negative amount, the reason) with the window that held it and the window that took it back
(`taken_by`, once only); `clearing_windows.held_fen` / `carried_fen` are their sums.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "clearing_holds",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("window_id", ID, nullable=False),
        sa.Column("payment_code", sa.String(32), nullable=False),
        sa.Column("subject_code", sa.String(20), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("destination", sa.String(20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("unit_name", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("taken_by", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["clearing_windows.id"],
            name=op.f("fk_clearing_holds_window_id_clearing_windows"),
        ),
        sa.ForeignKeyConstraint(
            ["taken_by"],
            ["clearing_windows.id"],
            name=op.f("fk_clearing_holds_taken_by_clearing_windows"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_holds")),
    )
    op.create_index("ix_clearing_holds_window_id", "clearing_holds", ["window_id"])
    op.create_index("ix_clearing_holds_taken_by", "clearing_holds", ["taken_by"])
    with op.batch_alter_table("clearing_windows") as batch:
        batch.add_column(sa.Column("held_fen", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("carried_fen", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("clearing_windows") as batch:
        batch.drop_column("carried_fen")
        batch.drop_column("held_fen")
    op.drop_index("ix_clearing_holds_taken_by", table_name="clearing_holds")
    op.drop_index("ix_clearing_holds_window_id", table_name="clearing_holds")
    op.drop_table("clearing_holds")
