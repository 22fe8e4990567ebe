"""Channel accounts per scope (platform, region, unit); orders remember their account.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channel_accounts_scoped",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("config_enc", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channel_accounts_scoped"),
        sa.UniqueConstraint("channel", "scope", name="uq_channel_accounts_channel_scope"),
    )
    op.execute(
        "INSERT INTO channel_accounts_scoped "
        "(channel, scope, config_enc, active, updated_at, updated_by) "
        "SELECT channel, '*', config_enc, TRUE, updated_at, 'migration' FROM channel_accounts"
    )
    op.drop_table("channel_accounts")
    op.rename_table("channel_accounts_scoped", "channel_accounts")
    _rename_pk("channel_accounts_scoped")
    op.add_column("payment_orders", sa.Column("channel_account_id", ID, nullable=True))
    op.add_column("api_clients", sa.Column("region_code", sa.String(length=6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("region_code")
    with op.batch_alter_table("payment_orders") as batch:
        batch.drop_column("channel_account_id")
    op.create_table(
        "channel_accounts_flat",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("config_enc", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name="pk_channel_accounts_flat"),
    )
    op.execute(
        "INSERT INTO channel_accounts_flat (channel, config_enc, updated_at) "
        "SELECT channel, config_enc, updated_at FROM channel_accounts WHERE scope = '*'"
    )
    op.drop_table("channel_accounts")
    op.rename_table("channel_accounts_flat", "channel_accounts")
    _rename_pk("channel_accounts_flat")


def _rename_pk(old_table: str) -> None:
    """PostgreSQL keeps the temporary table's constraint name; give back the usual one."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE channel_accounts RENAME CONSTRAINT pk_{old_table} TO pk_channel_accounts"
        )
