"""Read side of the devices screen (K2): where each device stands, what it took and printed,
and how many receipt numbers its issuing point has left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.receipts.tables import receipt_prints, receipt_stocks
from publicpay.domain.payments.orders import OrderStatus


@dataclass(frozen=True, slots=True)
class Usage:
    payments: int = 0
    amount_fen: int = 0
    prints: int = 0
    reprints: int = 0


_PAYMENTS = (
    select(
        payment_orders.c.device_id,
        func.count().label("n"),
        func.coalesce(func.sum(payment_orders.c.amount_fen), 0).label("fen"),
    )
    .where(
        payment_orders.c.device_id.is_not(None),
        payment_orders.c.status == OrderStatus.SUCCEEDED.value,
    )
    .group_by(payment_orders.c.device_id)
)
_PRINTS = select(
    receipt_prints.c.place, receipt_prints.c.reprint, func.count().label("n")
).group_by(receipt_prints.c.place, receipt_prints.c.reprint)
_STOCK_LEFT = (
    select(
        receipt_stocks.c.issuing_point,
        func.sum(receipt_stocks.c.end_no - receipt_stocks.c.next_no + 1).label("left"),
    )
    .where(receipt_stocks.c.issuing_point.is_not(None), receipt_stocks.c.status == "active")
    .group_by(receipt_stocks.c.issuing_point)
)


def usage_since(conn: Connection, since: datetime, app_ids: dict[int, str]) -> dict[int, Usage]:
    """Per device id: succeeded payments taken there and receipts printed there since `since`;
    `app_ids`: device id -> its credential (the place a print records)."""
    paid = {
        row.device_id: (int(row.n), int(row.fen))
        for row in conn.execute(_PAYMENTS.where(payment_orders.c.paid_at >= since))
    }
    printed: dict[tuple[str, bool], int] = {
        (row.place, bool(row.reprint)): int(row.n)
        for row in conn.execute(_PRINTS.where(receipt_prints.c.at >= since))
    }
    usage = {}
    for device_id, app_id in app_ids.items():
        n, fen = paid.get(device_id, (0, 0))
        reprints = printed.get((app_id, True), 0)
        usage[device_id] = Usage(n, fen, printed.get((app_id, False), 0) + reprints, reprints)
    return usage


def stock_left(conn: Connection) -> dict[str, int]:
    """Receipt numbers left per issuing point (开票点), active ranges only."""
    return {str(row.issuing_point): int(row.left) for row in conn.execute(_STOCK_LEFT)}
