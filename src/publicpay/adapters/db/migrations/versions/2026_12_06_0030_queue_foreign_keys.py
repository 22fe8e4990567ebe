"""Hot-path performance (issue 8): the webhook outbox (`events`) and the receipt queue
(`receipt_jobs`) drop their foreign keys, as the payers' message queue did in 0027.

Each row of both is written by the recorder in the transaction of the state change it tells of,
with that change's unit and payable. Their foreign keys made PostgreSQL run a
referential-integrity query per row — for `events`, a KEY SHARE lock on the unit's one row,
which every payment and registration of the unit shares — about 35,000 backend instructions
each, on every registration and payment (`python -m bench.instructions`). Nothing deletes units
or payables. `publicpay check` proves every event's unit and every receipt job's payable exist.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

FOREIGN_KEYS = (
    ("events", "fk_events_unit_id_units", "unit_id", "units"),
    ("receipt_jobs", "fk_receipt_jobs_payable_id_payables", "payable_id", "payables"),
)


def upgrade() -> None:
    for table, name, _column, _referred in FOREIGN_KEYS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, name, column, referred in FOREIGN_KEYS:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, referred, [column], ["id"])
