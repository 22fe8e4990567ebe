"""Refunds with approval (issue 11): who asked, how many approvals it needs, who approved (two
at most), the decision's note and time, and the payee's bank account of a bank-transfer refund
(counter and cash payments; the number sealed, a mask for screens).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("requested_by", lambda: sa.String(80), False, ""),
    ("approvals_required", sa.Integer, False, "1"),
    ("approved_by_1", lambda: sa.String(80), True, None),
    ("approved_by_2", lambda: sa.String(80), True, None),
    ("decision_note", lambda: sa.String(200), True, None),
    ("decided_at", lambda: sa.DateTime(timezone=True), True, None),
    ("payee_name", lambda: sa.String(100), True, None),
    ("payee_bank", lambda: sa.String(100), True, None),
    ("payee_account_masked", lambda: sa.String(40), True, None),
    ("payee_account_enc", sa.LargeBinary, True, None),
)


def upgrade() -> None:
    with op.batch_alter_table("refunds") as batch_op:
        for name, type_, nullable, default in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_(), nullable=nullable, server_default=default))
    op.create_index("ix_refunds_status", "refunds", ["status"])


def downgrade() -> None:
    op.drop_index("ix_refunds_status", table_name="refunds")
    with op.batch_alter_table("refunds") as batch_op:
        for name, *_ in reversed(_COLUMNS):
            batch_op.drop_column(name)
