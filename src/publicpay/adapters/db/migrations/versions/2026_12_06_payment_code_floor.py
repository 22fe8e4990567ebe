"""Payment codes issued before their serials were permuted (a serial equal to the payable's
id) stay theirs: the serials of new codes start above the highest id at this upgrade
(`serials.payment_code_floor`; PUBLICPAY_PAYMENT_CODE_SERIAL_FLOOR overrides it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO serials (name, value)"
        " SELECT 'payment_code_floor', coalesce(max(id), 0) + 1 FROM payables"
    )


def downgrade() -> None:
    op.execute("DELETE FROM serials WHERE name = 'payment_code_floor'")
