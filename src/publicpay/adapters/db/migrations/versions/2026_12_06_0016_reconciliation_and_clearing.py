"""Reconciliation and clearing (issue 12): statements and their lines, each source's business day, exceptions and the holding pool, clearing windows and their instructions.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "clearing_windows",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunds_fen", sa.BigInteger(), nullable=False),
        sa.Column("fees_fen", sa.BigInteger(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("by_level", sa.JSON(), nullable=False),
        sa.Column("voucher_no", sa.String(length=20), nullable=True),
        sa.Column("voucher", sa.Text(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("failure", sa.String(length=200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("instructed_at", TS, nullable=True),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_windows")),
        sa.UniqueConstraint("business_day", "account", name="uq_clearing_windows_day_account"),
    )
    op.create_table(
        "recon_days",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("statement_id", ID, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("run_at", TS, nullable=False),
        sa.Column("run_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_days")),
        sa.UniqueConstraint("source", "business_day", name="uq_recon_days_source_day"),
    )
    op.create_table(
        "recon_exceptions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("match_class", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("order_no", sa.String(length=64), nullable=True),
        sa.Column("line_id", ID, nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recon_exceptions")),
        sa.UniqueConstraint(
            "source", "business_day", "match_class", "key", name="uq_recon_exceptions_natural"
        ),
    )
    op.create_index(
        "ix_recon_exceptions_status_day",
        "recon_exceptions",
        ["status", "business_day"],
        unique=False,
    )
    op.create_table(
        "statements",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("merchant", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("superseded_by", ID, nullable=True),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint(
            "source", "business_day", "digest", name="uq_statements_source_day_digest"
        ),
    )
    op.create_table(
        "clearing_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("window_id", ID, nullable=False),
        sa.Column("payment_code", sa.String(length=32), nullable=False),
        sa.Column("subject_code", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("unit_name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["clearing_windows.id"],
            name=op.f("fk_clearing_lines_window_id_clearing_windows"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_lines")),
    )
    op.create_index(
        op.f("ix_clearing_lines_window_id"), "clearing_lines", ["window_id"], unique=False
    )
    op.create_table(
        "statement_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("statement_id", ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("order_no", sa.String(length=64), nullable=True),
        sa.Column("refund_no", sa.String(length=64), nullable=True),
        sa.Column("trade_no", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.String(length=19), nullable=False),
        sa.Column("match_class", sa.String(length=20), nullable=True),
        sa.Column("order_id", ID, nullable=True),
        sa.Column("refund_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_lines_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_lines")),
    )
    op.create_index(
        op.f("ix_statement_lines_order_id"), "statement_lines", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_statement_lines_statement_id"), "statement_lines", ["statement_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_statement_lines_statement_id"), table_name="statement_lines")
    op.drop_index(op.f("ix_statement_lines_order_id"), table_name="statement_lines")
    op.drop_table("statement_lines")
    op.drop_index(op.f("ix_clearing_lines_window_id"), table_name="clearing_lines")
    op.drop_table("clearing_lines")
    op.drop_table("statements")
    op.drop_index("ix_recon_exceptions_status_day", table_name="recon_exceptions")
    op.drop_table("recon_exceptions")
    op.drop_table("recon_days")
    op.drop_table("clearing_windows")
