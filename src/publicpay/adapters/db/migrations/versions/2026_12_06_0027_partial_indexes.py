"""Hot-path performance (issue 8): two indexes keep only the rows they are for.

`payables.payer_phone_hash` (a payer's history, issue 13) is NULL for most payables (no phone
given), and `payment_orders.shift_id` (a cashier shift's takings, 0019) is NULL for every order
not taken at a window. A plain B-tree holds an entry for each NULL too, so every registration
and every payment (whose UPDATE of the order's status is not HOT: the status is indexed) added an
entry nobody looks up. Both become partial (`WHERE … IS NOT NULL`); the lookups (`= value`)
imply the condition, so both databases still use them.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_payables_payer_phone_hash", "payables", "payer_phone_hash"),
    ("ix_payment_orders_shift_id", "payment_orders", "shift_id"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.drop_index(name, table_name=table)
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, table, [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for name, table, column in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column])
