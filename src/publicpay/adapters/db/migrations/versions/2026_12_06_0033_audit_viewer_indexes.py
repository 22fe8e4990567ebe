"""The auditors' viewer's four indexes on `audit_log` (by time, user, action, object; 0013) hold
sealed rows only (issue 8): every console action, registration and payment writes an audit row,
which cost four more index entries in its transaction; the worker's seal updates `chain_seq`,
an indexed column, so it writes every index entry of the row again anyway. Readers find the
unsealed rows — the last few seconds' — by the `chain_seq` index (`IS NULL`).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

COLUMNS = ("at", "actor", "action", "target")
SEALED = sa.text("chain_seq IS NOT NULL")


def upgrade() -> None:
    for column in COLUMNS:
        name = f"ix_audit_log_{column}"
        op.drop_index(name, table_name="audit_log")
        op.create_index(name, "audit_log", [column], postgresql_where=SEALED, sqlite_where=SEALED)


def downgrade() -> None:
    for column in COLUMNS:
        name = f"ix_audit_log_{column}"
        op.drop_index(name, table_name="audit_log")
        op.create_index(name, "audit_log", [column])
