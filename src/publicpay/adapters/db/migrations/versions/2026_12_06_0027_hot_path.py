"""Hot-path performance (issue 8): two indexes keep only the rows they are for, and the payers'
message queue drops its two foreign keys.

`payables.payer_phone_hash` (a payer's history, issue 13) is NULL for most payables (no phone
given), and `payment_orders.shift_id` (a cashier shift's takings, 0019) is NULL for every order
not taken at a window. A plain B-tree holds an entry for each NULL too, so every registration
and every payment (whose UPDATE of the order's status is not HOT: the status is indexed) added an
entry nobody looks up. Both become partial (`WHERE … IS NOT NULL`); the lookups (`= value`)
imply the condition, so both databases still use them.

`payer_messages` (N3, 0018) is the payers' outbox: each row is written by the recorder in the
transaction of the event it tells of, with that event's payable and unit. Its two foreign keys
made PostgreSQL run a referential-integrity query per key and row — a KEY SHARE lock on the
payable and on the unit, the one row every payment of the unit shares — about 70,000 of the
backend's instructions per registration and per payment (`python -m bench.instructions`), 7 % of
a registration's. `publicpay check` proves every message still belongs to its payable and unit.

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


FOREIGN_KEYS = (
    ("fk_payer_messages_payable_id_payables", "payable_id", "payables"),
    ("fk_payer_messages_unit_id_units", "unit_id", "units"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.drop_index(name, table_name=table)
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, table, [column], postgresql_where=where, sqlite_where=where)
    with op.batch_alter_table("payer_messages") as batch:
        for name, _column, _referred in FOREIGN_KEYS:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("payer_messages") as batch:
        for name, column, referred in FOREIGN_KEYS:
            batch.create_foreign_key(name, referred, [column], ["id"])
    for name, table, column in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column])
