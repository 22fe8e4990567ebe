"""Sites and windows of units (便民点, 办事大厅, 分所; numbered windows), devices (kiosks and POS
terminals with their credential, site and receipt issuing point), and where a payment was
taken (site, window, device, cashier shift) on payment orders.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("unit_id", ID, nullable=True),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_sites_region_code_regions")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_sites_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_sites_code")),
    )
    op.create_index(op.f("ix_sites_unit_id"), "sites", ["unit_id"], unique=False)
    op.create_table(
        "windows",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("number", sa.String(10), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_windows_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_windows")),
        sa.UniqueConstraint("site_id", "number", name="uq_windows_site_id_number"),
    )
    op.create_table(
        "devices",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("site_id", ID, nullable=True),
        sa.Column("window_id", ID, nullable=True),
        sa.Column("unit_id", ID, nullable=True),
        sa.Column("issuing_point", sa.String(40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("printer", sa.String(20), nullable=True),
        sa.Column("paper", sa.String(20), nullable=True),
        sa.Column("version", sa.String(40), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["api_clients.app_id"], name=op.f("fk_devices_app_id_api_clients")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_devices_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["window_id"], ["windows.id"], name=op.f("fk_devices_window_id_windows")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_devices_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("app_id", name=op.f("uq_devices_app_id")),
    )
    op.create_index(op.f("ix_devices_site_id"), "devices", ["site_id"], unique=False)
    with op.batch_alter_table("payment_orders") as batch_op:
        for name in ("site_id", "window_id", "device_id", "shift_id"):
            batch_op.add_column(sa.Column(name, ID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_orders") as batch_op:
        for name in ("shift_id", "device_id", "window_id", "site_id"):
            batch_op.drop_column(name)
    op.drop_index(op.f("ix_devices_site_id"), table_name="devices")
    op.drop_table("devices")
    op.drop_table("windows")
    op.drop_index(op.f("ix_sites_unit_id"), table_name="sites")
    op.drop_table("sites")
