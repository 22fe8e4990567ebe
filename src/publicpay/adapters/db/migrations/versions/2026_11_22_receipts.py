"""fiscal e-receipts: signing keys, number stock, receipts, prints, issue jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:45:20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "receipt_keys",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("signer", sa.String(length=10), nullable=False),
        sa.Column("owner", sa.String(length=20), nullable=False),
        sa.Column("private_key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_keys")),
    )
    op.create_index("ix_receipt_keys_signer_owner", "receipt_keys", ["signer", "owner"])
    op.create_table(
        "receipt_stocks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("start_no", sa.BigInteger(), nullable=False),
        sa.Column("end_no", sa.BigInteger(), nullable=False),
        sa.Column("next_no", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", ID, nullable=True),
        sa.Column("issuing_point", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("allocated_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_receipt_stocks_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_stocks")),
    )
    op.create_index("ix_receipt_stocks_unit_status", "receipt_stocks", ["unit_id", "status"])
    op.create_table(
        "receipt_jobs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("payable_id", ID, nullable=False),
        sa.Column("place", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("done_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["payable_id"], ["payables.id"], name=op.f("fk_receipt_jobs_payable_id_payables")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_jobs")),
        sa.UniqueConstraint("kind", "ref", name="uq_receipt_jobs_kind_ref"),
    )
    op.create_index("ix_receipt_jobs_status_next", "receipt_jobs", ["status", "next_attempt_at"])
    _create_receipts()
    op.create_table(
        "receipt_prints",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("receipt_id", ID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("place", sa.String(length=40), nullable=False),
        sa.Column("reprint", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["receipts.id"], name=op.f("fk_receipt_prints_receipt_id_receipts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_prints")),
    )
    op.create_index(op.f("ix_receipt_prints_receipt_id"), "receipt_prints", ["receipt_id"])


def _create_receipts() -> None:
    op.create_table(
        "receipts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("number", sa.String(length=10), nullable=False),
        sa.Column("check_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payable_id", ID, nullable=False),
        sa.Column("unit_id", ID, nullable=False),
        sa.Column("stock_id", ID, nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("original_id", ID, nullable=True),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.Column("unit_signature", sa.LargeBinary(), nullable=False),
        sa.Column("finance_signature", sa.LargeBinary(), nullable=False),
        sa.Column("unit_key_id", ID, nullable=False),
        sa.Column("finance_key_id", ID, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("print_count", sa.Integer(), nullable=False),
        sa.Column("booked_at", TS, nullable=True),
        sa.Column("booked_by", sa.String(length=100), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["finance_key_id"],
            ["receipt_keys.id"],
            name=op.f("fk_receipts_finance_key_id_receipt_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["original_id"], ["receipts.id"], name=op.f("fk_receipts_original_id_receipts")
        ),
        sa.ForeignKeyConstraint(
            ["payable_id"], ["payables.id"], name=op.f("fk_receipts_payable_id_payables")
        ),
        sa.ForeignKeyConstraint(
            ["stock_id"], ["receipt_stocks.id"], name=op.f("fk_receipts_stock_id_receipt_stocks")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_receipts_unit_id_units")),
        sa.ForeignKeyConstraint(
            ["unit_key_id"], ["receipt_keys.id"], name=op.f("fk_receipts_unit_key_id_receipt_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("code", "number", name="uq_receipts_code_number"),
        sa.UniqueConstraint("kind", "ref", name="uq_receipts_kind_ref"),
    )
    op.create_index(op.f("ix_receipts_payable_id"), "receipts", ["payable_id"])
    op.create_index("ix_receipts_unit_issued", "receipts", ["unit_id", "issued_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_receipt_prints_receipt_id"), table_name="receipt_prints")
    op.drop_table("receipt_prints")
    op.drop_index("ix_receipts_unit_issued", table_name="receipts")
    op.drop_index(op.f("ix_receipts_payable_id"), table_name="receipts")
    op.drop_table("receipts")
    op.drop_index("ix_receipt_jobs_status_next", table_name="receipt_jobs")
    op.drop_table("receipt_jobs")
    op.drop_index("ix_receipt_stocks_unit_status", table_name="receipt_stocks")
    op.drop_table("receipt_stocks")
    op.drop_index("ix_receipt_keys_signer_owner", table_name="receipt_keys")
    op.drop_table("receipt_keys")
