"""Lists, statistics, exports and supervision alerts (issue 10): the keyed hash of payers'
phones (search by phone), the index the statistics read payments by, supervision alerts with
their acknowledgements, and background export jobs.

Payables registered before this revision have no phone hash (the key to compute it is not the
migration's): they are found by their other attributes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("summary", sa.String(300), nullable=False),
        sa.Column("link", sa.String(300), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("unit_id", ID, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.String(100), nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("times", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("kind", "key", name="uq_alerts_kind_key"),
    )
    op.create_index("ix_alerts_status_region", "alerts", ["status", "region_code"], unique=False)
    op.create_table(
        "export_jobs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params_enc", sa.LargeBinary(), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total_rows", sa.BigInteger(), nullable=False),
        sa.Column("done_rows", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
    )
    op.create_index(op.f("ix_export_jobs_user_id"), "export_jobs", ["user_id"], unique=False)
    op.create_table(
        "export_chunks",
        sa.Column("job_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["export_jobs.id"], name=op.f("fk_export_chunks_job_id_export_jobs")
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_export_chunks")),
    )
    op.add_column("payables", sa.Column("payer_phone_hash", sa.String(64), nullable=True))
    op.create_index(
        op.f("ix_payables_payer_phone_hash"), "payables", ["payer_phone_hash"], unique=False
    )
    op.create_index(
        "ix_payment_orders_status_paid_at", "payment_orders", ["status", "paid_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_status_region", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("export_chunks")
    op.drop_index(op.f("ix_export_jobs_user_id"), table_name="export_jobs")
    op.drop_table("export_jobs")
    op.drop_index("ix_payment_orders_status_paid_at", table_name="payment_orders")
    op.drop_index(op.f("ix_payables_payer_phone_hash"), table_name="payables")
    with op.batch_alter_table("payables") as batch:
        batch.drop_column("payer_phone_hash")
