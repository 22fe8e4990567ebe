"""The cash office (issue 11, W2): shift closes with counted cash by denomination, supervisor
confirmations, deposit slips.

- `shifts` gains the closing count (pieces per denomination, total), the takings by kind, the
  difference, the cashier's note and the supervisor's confirmation;
- `cash_deposits`: one deposit slip per settled shift with cash beyond its float, in transit
  until the collection account's statement shows it;
- `payment_orders.shift_id` is indexed (a shift's takings).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
SHIFT_COLUMNS = (
    sa.Column("counted", sa.JSON(), nullable=True),
    sa.Column("counted_fen", sa.BigInteger(), nullable=True),
    sa.Column("takings", sa.JSON(), nullable=True),
    sa.Column("difference_fen", sa.BigInteger(), nullable=True),
    sa.Column("close_note", sa.String(200), nullable=True),
    sa.Column("confirmed_by_id", ID, nullable=True),
    sa.Column("confirmed_by", sa.String(40), nullable=True),
    sa.Column("confirmed_at", TS, nullable=True),
    sa.Column("confirm_note", sa.String(200), nullable=True),
)


def upgrade() -> None:
    for column in SHIFT_COLUMNS:
        op.add_column("shifts", column)
    op.create_index("ix_shifts_status", "shifts", ["status"])
    op.create_index("ix_payment_orders_shift_id", "payment_orders", ["shift_id"])
    op.create_table(
        "cash_deposits",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("deposit_no", sa.String(32), nullable=False),
        sa.Column("shift_id", ID, nullable=False),
        sa.Column("unit_id", ID, nullable=True),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("pieces", sa.JSON(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("prepared_at", TS, nullable=False),
        sa.Column("prepared_by", sa.String(60), nullable=False),
        sa.Column("statement_ref", sa.String(64), nullable=True),
        sa.Column("credited_on", sa.Date(), nullable=True),
        sa.Column("credited_by", sa.String(60), nullable=True),
        sa.Column("credited_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["shifts.id"], name=op.f("fk_cash_deposits_shift_id_shifts")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_cash_deposits_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_cash_deposits_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_deposits")),
        sa.UniqueConstraint("deposit_no", name=op.f("uq_cash_deposits_deposit_no")),
        sa.UniqueConstraint("shift_id", name=op.f("uq_cash_deposits_shift_id")),
    )
    op.create_index(
        "ix_cash_deposits_business_date", "cash_deposits", ["business_date"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_cash_deposits_business_date", table_name="cash_deposits")
    op.drop_table("cash_deposits")
    op.drop_index("ix_payment_orders_shift_id", table_name="payment_orders")
    op.drop_index("ix_shifts_status", table_name="shifts")
    with op.batch_alter_table("shifts") as batch:
        for column in reversed(SHIFT_COLUMNS):
            batch.drop_column(column.name)
