"""Administration API and editing (issue 10): a unit's contact and its disabling.

- units: `contact` (the person and telephone a bureau calls about the unit) and `disabled_at`
  (a disabled unit's business system is refused until the unit is enabled again; its data and
  history stay).

Sites and windows already carry `active` (closed and reopened by an administrator).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("units") as batch_op:
        batch_op.add_column(sa.Column("contact", sa.String(200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("units") as batch_op:
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("contact")
