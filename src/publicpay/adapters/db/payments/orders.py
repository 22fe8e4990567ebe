"""Payment orders repository."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from publicpay.adapters.db.deferred import pg_defer
from publicpay.adapters.db.dialect import for_update, pg_cursor
from publicpay.adapters.db.payables import (
    PG_PAYABLE_WITH_LINES,
    PayablesRepository,
    payable_from_row,
)
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.domain.payables import Payable, PayableLine
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.domain.time import utc

# built once, executed with bind parameters (see dialect.py)
_INSERT = insert(payment_orders)
_BY_NO = select(payment_orders).where(payment_orders.c.order_no == bindparam("b_no"))
_BY_NO_LOCKED = for_update(_BY_NO)
_SAVE = (
    update(payment_orders)
    .where(payment_orders.c.id == bindparam("b_id"))
    .values(version=payment_orders.c.version + 1)
)

_ORDER_COLUMNS = tuple(c.name for c in payment_orders.columns)
# PostgreSQL: an order and its payable, both locked, in one round trip. The payable is locked
# first (the project's lock order: payable → order): the materialised CTE runs, and locks,
# before the outer query's row lock on the order.
_PG_WITH_PAYABLE = (
    "WITH p AS MATERIALIZED ("  # noqa: S608 (SQL from the code; values bound)
    + PG_PAYABLE_WITH_LINES
    + " WHERE payables.id = (SELECT payable_id FROM payment_orders WHERE order_no = %s)"
    " FOR UPDATE OF payables) SELECT p.*, "
    + ", ".join(f"o.{name} AS o_{name}" for name in _ORDER_COLUMNS)
    + " FROM p JOIN payment_orders o ON o.payable_id = p.id WHERE o.order_no = %s FOR UPDATE OF o"
)
_PG_SAVE = (
    "UPDATE payment_orders SET status = %s, channel_trade_no = %s, paid_at = %s, qr_code = %s,"
    " version = version + 1 WHERE id = %s"
)
_PG_SAVE_CLOSED = _PG_SAVE.replace(" version =", " closed_at = %s, version =")


class OrdersRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, order: Order) -> int:
        result = self._conn.execute(
            _INSERT,
            {
                "order_no": order.order_no,
                "payable_id": order.payable_id,
                "channel": order.channel,
                "method": order.method.value,
                "amount_fen": order.amount_fen,
                "status": order.status.value,
                "qr_code": order.qr_code,
                "channel_trade_no": order.channel_trade_no,
                "created_at": order.created_at,
                "expires_at": order.expires_at,
                "paid_at": order.paid_at,
                "channel_account_id": order.channel_account_id,
                "version": 1,
            },
        )
        order.id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return order.id

    def by_no(self, order_no: str, *, lock: bool = False) -> Order | None:
        row = self._conn.execute(_BY_NO_LOCKED if lock else _BY_NO, {"b_no": order_no}).first()
        return None if row is None else _hydrate(row)

    def locked_with_payable(self, order_no: str) -> tuple[Payable, Order] | None:
        """An order and its payable, both locked (payable first: the project's lock order)."""
        cursor = pg_cursor(self._conn)
        if cursor is None:
            payable = PayablesRepository(self._conn).for_order(order_no)
            order = self.by_no(order_no, lock=True)
            return None if payable is None or order is None else (payable, order)
        row = cursor.execute(_PG_WITH_PAYABLE, (order_no, order_no)).fetchone()
        if row is None:
            return None
        lines = [PayableLine(*line) for line in row.lines_json or []]
        order_row = SimpleNamespace(**{name: getattr(row, f"o_{name}") for name in _ORDER_COLUMNS})
        return payable_from_row(row, lines), _hydrate(order_row)

    def by_id(self, order_id: int) -> Order | None:
        row = self._conn.execute(
            select(payment_orders).where(payment_orders.c.id == order_id)
        ).first()
        return None if row is None else _hydrate(row)

    def for_payable(self, payable_id: int) -> list[Order]:
        stmt = (
            select(payment_orders)
            .where(payment_orders.c.payable_id == payable_id)
            .order_by(payment_orders.c.id)
        )
        return [_hydrate(row) for row in self._conn.execute(stmt)]

    def open_created_before(self, before: datetime, limit: int) -> list[str]:
        stmt = (
            select(payment_orders.c.order_no)
            .where(
                payment_orders.c.status == OrderStatus.PAYING.value,
                payment_orders.c.created_at < before,
                payment_orders.c.channel.not_in(("counter", "cash")),  # no channel to ask
            )
            .order_by(payment_orders.c.id)
            .limit(limit)
        )
        return [row.order_no for row in self._conn.execute(stmt)]

    def save(self, order: Order, *, closed_at: datetime | None = None) -> None:
        """On PostgreSQL a blind write sent with the transaction's next statement or commit."""
        params: list[Any] = [order.status.value, order.channel_trade_no, order.paid_at]
        params += [order.qr_code] if closed_at is None else [order.qr_code, closed_at]
        sql = _PG_SAVE if closed_at is None else _PG_SAVE_CLOSED
        if pg_defer(self._conn, sql, [*params, order.id], key=("payment_orders", order.id)):
            return
        values: dict[str, Any] = {
            "b_id": order.id,
            "status": order.status.value,
            "channel_trade_no": order.channel_trade_no,
            "paid_at": order.paid_at,
            "qr_code": order.qr_code,
        }
        if closed_at is not None:
            values["closed_at"] = closed_at
        self._conn.execute(_SAVE, values)


def _hydrate(row: Row[Any] | SimpleNamespace) -> Order:
    return Order(
        id=row.id,
        order_no=row.order_no,
        payable_id=row.payable_id,
        channel=row.channel,
        method=OrderMethod(row.method),
        amount_fen=row.amount_fen,
        status=OrderStatus(row.status),
        qr_code=row.qr_code,
        channel_trade_no=row.channel_trade_no,
        created_at=utc(row.created_at),
        expires_at=utc(row.expires_at),
        paid_at=utc(row.paid_at) if row.paid_at else None,
        closed_at=utc(row.closed_at) if row.closed_at else None,
        channel_account_id=row.channel_account_id,
    )
