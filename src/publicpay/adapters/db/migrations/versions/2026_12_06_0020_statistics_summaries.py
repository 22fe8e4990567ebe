"""Statistics summaries (issue 10): succeeded payments summed per business day and hour, unit,
channel, site, window and device; per day, unit, channel and fee item; per day, unit, channel
and ledger account (budget levels, special account) — back-filled from the payments already
recorded, then kept by the recorder in each payment's transaction.

Each summary row is striped over 8 slots (the order id modulo 8): concurrent payments of one
unit and channel add to different rows.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key(name: str, type_: sa.types.TypeEngine) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, type_, autoincrement=False, nullable=False)


def _measures() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("payments", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "stats_payments_hourly",
        _key("day", sa.Date()),
        _key("hour", sa.SmallInteger()),
        _key("unit_id", ID),
        _key("channel", sa.String(20)),
        _key("site_id", ID),
        _key("window_id", ID),
        _key("device_id", ID),
        _key("slot", sa.SmallInteger()),
        *_measures(),
        sa.PrimaryKeyConstraint(
            "day",
            "hour",
            "unit_id",
            "channel",
            "site_id",
            "window_id",
            "device_id",
            "slot",
            name=op.f("pk_stats_payments_hourly"),
        ),
    )
    op.create_table(
        "stats_items_daily",
        _key("day", sa.Date()),
        _key("unit_id", ID),
        _key("channel", sa.String(20)),
        _key("item_code", sa.String(20)),
        _key("slot", sa.SmallInteger()),
        sa.Column("item_name", sa.String(200), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint(
            "day", "unit_id", "channel", "item_code", "slot", name=op.f("pk_stats_items_daily")
        ),
    )
    op.create_table(
        "stats_levels_daily",
        _key("day", sa.Date()),
        _key("unit_id", ID),
        _key("channel", sa.String(20)),
        _key("account", sa.String(60)),
        _key("slot", sa.SmallInteger()),
        *_measures(),
        sa.PrimaryKeyConstraint(
            "day", "unit_id", "channel", "account", "slot", name=op.f("pk_stats_levels_daily")
        ),
    )
    _backfill(op.get_bind().dialect.name)


# The payments already recorded, summed as the recorder sums them (DAY and HOUR: Asia/Shanghai)
BACKFILL = (
    """INSERT INTO stats_payments_hourly (day, hour, unit_id, channel, site_id, window_id,
        device_id, slot, payments, amount_fen)
    SELECT DAY, HOUR, p.unit_id, o.channel, coalesce(o.site_id, 0), coalesce(o.window_id, 0),
        coalesce(o.device_id, 0), o.id % 8, count(*), sum(o.amount_fen)
    FROM payment_orders o JOIN payables p ON p.id = o.payable_id
    WHERE o.status = 'succeeded' AND o.paid_at IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8""",
    # one count per payment and item, whatever the number of its lines of that item
    """INSERT INTO stats_items_daily (day, unit_id, channel, item_code, slot, item_name,
        payments, amount_fen)
    SELECT DAY, p.unit_id, o.channel, l.item_code, o.id % 8, max(l.item_name),
        count(DISTINCT o.id), sum(l.amount_fen)
    FROM payment_orders o JOIN payables p ON p.id = o.payable_id
    JOIN payable_lines l ON l.payable_id = p.id
    WHERE o.status = 'succeeded' AND o.paid_at IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5""",
    """INSERT INTO stats_levels_daily (day, unit_id, channel, account, slot, payments,
        amount_fen)
    SELECT DAY, p.unit_id, o.channel, lp.account, o.id % 8, count(DISTINCT o.id),
        -sum(lp.amount_fen)
    FROM payment_orders o JOIN payables p ON p.id = o.payable_id
    JOIN ledger_journals j ON j.ref = o.order_no AND j.kind = 'payment'
    JOIN ledger_postings lp ON lp.journal_id = j.id
    WHERE o.status = 'succeeded' AND o.paid_at IS NOT NULL
    AND (lp.account LIKE 'treasury_payable:%' OR lp.account = 'special_account')
    GROUP BY 1, 2, 3, 4, 5""",
)
LOCAL = {
    "postgresql": (
        "(o.paid_at AT TIME ZONE 'Asia/Shanghai')::date",
        "extract(hour FROM o.paid_at AT TIME ZONE 'Asia/Shanghai')::int",
    ),
    # SQLite keeps UTC text; Shanghai has no daylight saving time
    "sqlite": (
        "date(o.paid_at, '+8 hours')",
        "CAST(strftime('%H', o.paid_at, '+8 hours') AS INTEGER)",
    ),
}


def _backfill(dialect: str) -> None:
    day, hour = LOCAL[dialect]
    for sql in BACKFILL:
        op.execute(sql.replace("DAY", day).replace("HOUR", hour))


def downgrade() -> None:
    op.drop_table("stats_levels_daily")
    op.drop_table("stats_items_daily")
    op.drop_table("stats_payments_hourly")
