"""Devices and the kiosk (issue 13): partner banks' branch sites (a bank sees the kiosks placed
there), carts (several payables paid in one channel payment) and the orders they settle.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "partner_sites",
        sa.Column("site_id", ID, nullable=False),
        sa.Column("bank_app_id", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_partner_sites_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["bank_app_id"],
            ["api_clients.app_id"],
            name=op.f("fk_partner_sites_bank_app_id_api_clients"),
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_partner_sites")),
    )
    op.create_index(
        op.f("ix_partner_sites_bank_app_id"), "partner_sites", ["bank_app_id"], unique=False
    )
    op.create_table(
        "carts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("cart_no", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("qr_code", sa.String(500), nullable=True),
        sa.Column("channel_account_id", ID, nullable=True),
        sa.Column("channel_trade_no", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("paid_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("device_id", ID, nullable=True),
        sa.Column("site_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
        sa.UniqueConstraint("cart_no", name=op.f("uq_carts_cart_no")),
    )
    op.create_index("ix_carts_status_created", "carts", ["status", "created_at"], unique=False)
    op.create_table(
        "cart_items",
        sa.Column("cart_id", ID, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("payable_id", ID, nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_items_cart_id_carts")
        ),
        sa.ForeignKeyConstraint(
            ["payable_id"], ["payables.id"], name=op.f("fk_cart_items_payable_id_payables")
        ),
        sa.PrimaryKeyConstraint("cart_id", "line_no", name=op.f("pk_cart_items")),
        sa.UniqueConstraint("cart_id", "payable_id", name="uq_cart_items_cart_id_payable_id"),
    )
    op.create_index(op.f("ix_cart_items_payable_id"), "cart_items", ["payable_id"], unique=False)
    with op.batch_alter_table("payment_orders") as batch_op:
        batch_op.add_column(sa.Column("cart_id", ID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_orders") as batch_op:
        batch_op.drop_column("cart_id")
    op.drop_index(op.f("ix_cart_items_payable_id"), table_name="cart_items")
    op.drop_table("cart_items")
    op.drop_index("ix_carts_status_created", table_name="carts")
    op.drop_table("carts")
    op.drop_index(op.f("ix_partner_sites_bank_app_id"), table_name="partner_sites")
    op.drop_table("partner_sites")
