"""Payer portal and window POS (issue 13): payers' messages, business attributes of payables, payer verification codes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "payer_messages",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("payable_id", ID, nullable=False),
        sa.Column("unit_id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=True),
        sa.Column("recipient_masked", sa.String(32), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["payable_id"], ["payables.id"], name=op.f("fk_payer_messages_payable_id_payables")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_payer_messages_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payer_messages")),
    )
    op.create_index("ix_payer_messages_payable_id", "payer_messages", ["payable_id"], unique=False)
    op.create_index(
        "ix_payer_messages_status_next", "payer_messages", ["status", "next_attempt_at"]
    )
    op.create_table(
        "payer_codes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payer_codes")),
    )
    op.create_index("ix_payer_codes_id_hash", "payer_codes", ["id_hash"], unique=False)
    op.create_table(
        "payable_attributes",
        sa.Column("payable_id", ID, nullable=False),
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("value_hash", sa.String(64), nullable=False),
        sa.Column("value_enc", sa.LargeBinary(), nullable=False),
        sa.Column("value_masked", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(
            ["payable_id"],
            ["payables.id"],
            name=op.f("fk_payable_attributes_payable_id_payables"),
        ),
        sa.PrimaryKeyConstraint("payable_id", "name", name=op.f("pk_payable_attributes")),
    )
    op.create_index(
        "ix_payable_attributes_value_hash", "payable_attributes", ["value_hash"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_payable_attributes_value_hash", table_name="payable_attributes")
    op.drop_table("payable_attributes")
    op.drop_index("ix_payer_codes_id_hash", table_name="payer_codes")
    op.drop_table("payer_codes")
    op.drop_index("ix_payer_messages_status_next", table_name="payer_messages")
    op.drop_index("ix_payer_messages_payable_id", table_name="payer_messages")
    op.drop_table("payer_messages")
