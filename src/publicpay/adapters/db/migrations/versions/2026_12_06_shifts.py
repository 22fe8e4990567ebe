"""Cashier shifts at windows: one open shift per window and per cashier.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_table(
        "shifts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("window_id", ID, nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("unit_id", ID, nullable=True),
        sa.Column("cashier_id", ID, nullable=False),
        sa.Column("cashier", sa.String(40), nullable=False),
        sa.Column("opening_float_fen", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["window_id"], ["windows.id"], name=op.f("fk_shifts_window_id_windows")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_shifts_site_id_sites")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_shifts_unit_id_units")),
        sa.ForeignKeyConstraint(
            ["cashier_id"], ["users.id"], name=op.f("fk_shifts_cashier_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
    )
    for name, column in (
        ("uq_shifts_open_window", "window_id"),
        ("uq_shifts_open_cashier", "cashier_id"),
    ):
        op.create_index(
            name, "shifts", [column], unique=True, postgresql_where=OPEN, sqlite_where=OPEN
        )


def downgrade() -> None:
    op.drop_index("uq_shifts_open_cashier", table_name="shifts")
    op.drop_index("uq_shifts_open_window", table_name="shifts")
    op.drop_table("shifts")
