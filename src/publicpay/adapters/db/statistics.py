"""Statistics (issue 10): the summary rows the statistics page and the phone view read, the
repository that keeps them, and the index the drill-down reads payments by.

Three summaries of succeeded payments:

- `stats_payments_hourly`: per business day and hour (Asia/Shanghai, of `paid_at`), unit,
  channel, site, window and device (0: none) — totals, trends, and every dimension but two;
- `stats_items_daily`: per day, unit, channel and fee item — the payable's lines;
- `stats_levels_daily`: per day, unit, channel and ledger account — the payment journal's
  credits to each treasury level and to the special account.

A payment's state change (paid, paid twice, reversed) writes its tally to `stats_pending` in
its own transaction: one row, no index, no lock on a shared row (migration 0032; before, three
upserts per payment cost the request a tenth of its work, bench/README.md Round 8). `fold` takes
the pending tallies (`DELETE … RETURNING`: exactly the rows it removes, so two folders never
count a tally twice) and adds them to the summaries with one upsert per summary row, in one
transaction: the worker folds every second, and the statistics pages fold before they read, so
what they show includes every committed payment. Rows written before 0032 are striped over
`slot`s (by order id); a fold writes slot 0, and a read sums the slots. `publicpay check` proves
summaries plus pending tallies equal the rows (`queries/summary_checks.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Date,
    Index,
    SmallInteger,
    String,
    Table,
    bindparam,
    delete,
    select,
)

from publicpay.adapters.db.dialects import Dialect, Variant
from publicpay.adapters.db.metadata import Id, metadata
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.sql import Insert, Sql
from publicpay.domain.statistics import PaymentTally, SummaryChanges, summary_changes

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


stats_pending = Table(
    "stats_pending",  # tallies not yet folded into the summaries (no key: see fold)
    metadata,
    Column("day", Date, nullable=False),
    Column("hour", SmallInteger, nullable=False),
    Column("unit_id", Id, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("site_id", Id, nullable=False),
    Column("window_id", Id, nullable=False),
    Column("device_id", Id, nullable=False),
    Column("sign", SmallInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("items", JSON, nullable=False),  # [[item code, item name, amount], …]
    Column("accounts", JSON, nullable=False),  # [[ledger account, amount], …]
)

_TAKE = delete(stats_pending).returning(*stats_pending.c)
_PENDING = select(stats_pending)
CHUNKS = (256, 64, 16, 4, 1)  # rows per upsert: a few statement shapes, compiled once each


def _tally_row(t: PaymentTally) -> dict[str, Any]:
    return {
        "day": t.day,
        "hour": t.hour,
        "unit_id": t.unit_id,
        "channel": t.channel,
        "site_id": t.site_id,
        "window_id": t.window_id,
        "device_id": t.device_id,
        "sign": t.sign,
        "amount_fen": t.amount_fen,
        "items": t.items,
        "accounts": t.accounts,
    }


def tally_of(row: Any) -> PaymentTally:
    """A pending row as the tally it was written from."""
    return PaymentTally(
        day=row.day,
        hour=row.hour,
        unit_id=row.unit_id,
        channel=row.channel,
        site_id=row.site_id,
        window_id=row.window_id,
        device_id=row.device_id,
        amount_fen=row.amount_fen,
        items=tuple((str(code), str(name), int(fen)) for code, name, fen in row.items),
        accounts=tuple((str(account), int(fen)) for account, fen in row.accounts),
        sign=row.sign,
    )


def _summary_rows(changes: SummaryChanges) -> list[tuple[Table, list[dict[str, Any]]]]:
    hourly = [
        {"day": d, "hour": h, "unit_id": u, "channel": ch, "site_id": s, "window_id": w}
        | {"device_id": dev, "slot": 0, "payments": n, "amount_fen": fen}
        for (d, h, u, ch, s, w, dev), (n, fen) in changes.hourly.items()
    ]
    items = [
        {"day": d, "unit_id": u, "channel": ch, "item_code": code, "slot": 0, "item_name": name}
        | {"payments": n, "amount_fen": fen}
        for (d, u, ch, code), (name, n, fen) in changes.items.items()
    ]
    levels = [
        {"day": d, "unit_id": u, "channel": ch, "account": account, "slot": 0, "payments": n}
        | {"amount_fen": fen}
        for (d, u, ch, account), (n, fen) in changes.levels.items()
    ]
    return [(stats_hourly, hourly), (stats_items, items), (stats_levels, levels)]


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
    """`tally` is queued (one pending row); `fold` runs at once."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def tally(self, t: PaymentTally) -> None:
        self._sql.queue(Insert(stats_pending, (_tally_row(t),)))

    def fold(self) -> int:
        """Add every pending tally to the summaries; how many were folded."""
        taken = [tally_of(row) for row in self._sql.all(_TAKE)]
        if taken:
            for table, rows in _summary_rows(summary_changes(taken)):
                self._upsert(table, rows)
        return len(taken)

    def _upsert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        at = 0
        while at < len(rows):
            size = next(n for n in CHUNKS if n <= len(rows) - at)
            self._sql.run(_increment(table, size), _params(rows[at : at + size]))
            at += size


def pending(conn: Connection) -> list[PaymentTally]:
    """The tallies not folded yet (for `publicpay check`)."""
    return [tally_of(row) for row in conn.execute(_PENDING)]
