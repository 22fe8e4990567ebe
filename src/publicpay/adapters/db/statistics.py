"""Statistics (issue 10): the summary rows the statistics page and the phone view read, the
repository that keeps them, and the index the drill-down reads payments by.

Three summaries of succeeded payments, kept by the recorder in the transaction that changes a
payment's state (paid, paid twice, reversed), each by one queued upsert that adds to the row:

- `stats_payments_hourly`: per business day and hour (Asia/Shanghai, of `paid_at`), unit,
  channel, site, window and device (0: none) — totals, trends, and every dimension but two;
- `stats_items_daily`: per day, unit, channel and fee item — the payable's lines;
- `stats_levels_daily`: per day, unit, channel and ledger account — the payment journal's
  credits to each treasury level and to the special account.

Each row is striped over `SLOTS` rows (`slot`: the order id modulo), so that concurrent payments
of one unit and channel do not queue on one row lock; a read sums the slots. `publicpay check`
proves each summary equals the rows (`queries/invariants.py`); migration 0020 back-filled them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    SmallInteger,
    String,
    Table,
    bindparam,
)

from publicpay.adapters.db.dialects import Dialect, Variant
from publicpay.adapters.db.metadata import Id, metadata
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.sql import Change, Sql
from publicpay.domain.statistics import PaymentTally

# The drill-down reads succeeded payments by the time they were paid.
PAID_INDEX = Index(
    "ix_payment_orders_status_paid_at", payment_orders.c.status, payment_orders.c.paid_at
)


def _key(name: str, type_: Any) -> Column[Any]:
    return Column(name, type_, primary_key=True, autoincrement=False)


def _measures() -> list[Column[Any]]:
    return [
        Column("payments", BigInteger, nullable=False),
        Column("amount_fen", BigInteger, nullable=False),
    ]


stats_hourly = Table(
    "stats_payments_hourly",
    metadata,
    _key("day", Date),
    _key("hour", SmallInteger),
    _key("unit_id", Id),
    _key("channel", String(20)),
    _key("site_id", Id),
    _key("window_id", Id),
    _key("device_id", Id),
    _key("slot", SmallInteger),
    *_measures(),
)

stats_items = Table(
    "stats_items_daily",
    metadata,
    _key("day", Date),
    _key("unit_id", Id),
    _key("channel", String(20)),
    _key("item_code", String(20)),
    _key("slot", SmallInteger),
    Column("item_name", String(200), nullable=False),
    *_measures(),
)

stats_levels = Table(
    "stats_levels_daily",
    metadata,
    _key("day", Date),
    _key("unit_id", Id),
    _key("channel", String(20)),
    _key("account", String(60)),
    _key("slot", SmallInteger),
    *_measures(),
)

SUMMARIES = (stats_hourly, stats_items, stats_levels)


@lru_cache(maxsize=64)
def _increment(table: Table, rows: int) -> Variant:
    """INSERT … VALUES (`rows` rows) ON CONFLICT (the key) DO UPDATE: add to the measures."""
    names = [c.name for c in table.columns]

    def build(dialect: Dialect) -> Any:
        values: list[dict[str, Any]] = [
            {n: bindparam(f"{n}__{i}") for n in names} for i in range(rows)
        ]
        stmt = dialect.insert(table).values(values if rows > 1 else values[0])
        added = {
            "payments": table.c.payments + stmt.excluded.payments,
            "amount_fen": table.c.amount_fen + stmt.excluded.amount_fen,
        }
        if "item_name" in names:
            added["item_name"] = stmt.excluded.item_name
        return stmt.on_conflict_do_update(
            index_elements=list(table.primary_key.columns), set_=added
        )

    return Variant(build)


def _params(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {f"{k}__{i}": v for i, row in enumerate(rows) for k, v in row.items()}


class StatisticsRepository:
    """`tally` is queued: at most one upsert per summary."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def tally(self, t: PaymentTally) -> None:
        common = {"day": t.day, "unit_id": t.unit_id, "channel": t.channel, "slot": t.slot}
        hour = {
            **common,
            "hour": t.hour,
            "site_id": t.site_id,
            "window_id": t.window_id,
            "device_id": t.device_id,
            "payments": t.sign,
            "amount_fen": t.sign * t.amount_fen,
        }
        self._queue(stats_hourly, [hour], (t.hour, t.site_id, t.window_id, t.device_id))
        items = [
            {**common, "item_code": code, "item_name": name, "payments": t.sign}
            | {"amount_fen": t.sign * amount}
            for code, name, amount in t.items
        ]
        self._queue(stats_items, items)
        levels = [
            {**common, "account": account, "payments": t.sign, "amount_fen": t.sign * amount}
            for account, amount in t.accounts
        ]
        self._queue(stats_levels, levels)

    def _queue(self, table: Table, rows: list[dict[str, Any]], more: tuple[Any, ...] = ()) -> None:
        """One upsert of `rows` (distinct keys). Two payments of one transaction may add to the
        same row: their writes share a `key` (the unit, channel, day and slot they have in
        common), so they go in separate statements."""
        if not rows:
            return
        first = rows[0]
        key = (table.name, first["day"], first["unit_id"], first["channel"], first["slot"], *more)
        self._sql.queue(Change(_increment(table, len(rows)), _params(rows), key=key))
