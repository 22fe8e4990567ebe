"""Administration (issue 10): regions, units' sites and windows, the fee catalogue's standards history, users and roles, webhook endpoints, audit viewer.

- users: `must_change_password` (a password given by an administrator or the CLI is changed at
  the first login) and `password_changed_at`;
- fee_standards: who added a standard and when (the standards' history);
- audit_log: indexes for the auditors' viewer (by time, by user, by action, by object).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
AUDIT_INDEXES = (
    ("ix_audit_log_at", "at"),
    ("ix_audit_log_actor", "actor"),
    ("ix_audit_log_action", "action"),
    ("ix_audit_log_target", "target"),
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("password_changed_at", TS, nullable=True))
    with op.batch_alter_table("fee_standards") as batch_op:
        batch_op.add_column(sa.Column("created_at", TS, nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(100), nullable=True))
    for name, column in AUDIT_INDEXES:
        op.create_index(name, "audit_log", [column])


def downgrade() -> None:
    for name, _ in AUDIT_INDEXES:
        op.drop_index(name, table_name="audit_log")
    with op.batch_alter_table("fee_standards") as batch_op:
        batch_op.drop_column("created_by")
        batch_op.drop_column("created_at")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("must_change_password")
