"""API credentials and webhook secrets: rotation with a grace period, revocation.

Revision ID: 0007
Revises: 0006b
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006b"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_clients") as batch_op:
        batch_op.add_column(sa.Column("previous_secret_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("previous_valid_until", TS, nullable=True))
        batch_op.add_column(sa.Column("rotated_at", TS, nullable=True))
        batch_op.add_column(sa.Column("revoked_at", TS, nullable=True))
    with op.batch_alter_table("units") as batch_op:
        batch_op.add_column(
            sa.Column("webhook_previous_secret_enc", sa.LargeBinary(), nullable=True)
        )
        batch_op.add_column(sa.Column("webhook_previous_valid_until", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("units") as batch_op:
        batch_op.drop_column("webhook_previous_valid_until")
        batch_op.drop_column("webhook_previous_secret_enc")
    with op.batch_alter_table("api_clients") as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("rotated_at")
        batch_op.drop_column("previous_valid_until")
        batch_op.drop_column("previous_secret_enc")
