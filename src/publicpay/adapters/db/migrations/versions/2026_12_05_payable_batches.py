"""Batch registrations of payables (P5): the file's hash, counts, per-row report, preview rows.

Revision ID: 0006b
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006b"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payable_batches",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("unit_id", ID, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("accept_partial", sa.Boolean(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("accepted_count", sa.Integer(), nullable=False),
        sa.Column("existing_count", sa.Integer(), nullable=False),
        sa.Column("refused_count", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("rows_enc", sa.LargeBinary(), nullable=True),
        sa.Column("preview_id", ID, nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_payable_batches_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["preview_id"],
            ["payable_batches.id"],
            name=op.f("fk_payable_batches_preview_id_payable_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payable_batches")),
    )
    op.create_index(
        "ix_payable_batches_unit_id_created_at", "payable_batches", ["unit_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_payable_batches_unit_id_created_at", table_name="payable_batches")
    op.drop_table("payable_batches")
