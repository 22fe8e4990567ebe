"""Payment orders repository."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, select, update

from publicpay.adapters.db.compiled import CACHE_LIMIT
from publicpay.adapters.db.payables import LINE_COLUMNS, payable_lines, payables, payables_from_rows
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.sql import Change, Sql
from publicpay.domain.payables import Payable
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.domain.time import utc

_BY_NO = select(payment_orders).where(payment_orders.c.order_no == bindparam("order_no"))
_BY_NO_LOCKED = _BY_NO.with_for_update()
_BY_ID = select(payment_orders).where(payment_orders.c.id == bindparam("id"))
_FOR_PAYABLE = (
    select(payment_orders)
    .where(payment_orders.c.payable_id == bindparam("payable_id"))
    .order_by(payment_orders.c.id)
)
_OPEN_BEFORE = (
    select(payment_orders.c.order_no)
    .where(
        payment_orders.c.status == OrderStatus.PAYING.value,
        payment_orders.c.created_at < bindparam("before"),
        payment_orders.c.channel.not_in(("counter", "cash")),  # no channel to ask
    )
    .order_by(payment_orders.c.id)
    .limit(bindparam("limit"))
)
# An order and its payable (with lines), both locked in one statement, the payable first (the
# project's lock order: payable → order; PostgreSQL takes a row's locks in the order `FOR UPDATE
# OF` names the tables, and re-reads both rows' newest versions when either changed meanwhile).
# One flat join, no CTE and no ORDER BY (`payables_from_rows` puts the lines in order): PostgreSQL
# sets a plan's nodes up again on every execution, each building its row shape column by column,
# and this statement's 60 columns went through eleven nodes before (bench/README.md, Round 7).
# SQLite leaves the locks out (one writer).
_WITH_PAYABLE_LOCKED = (
    select(
        *[c.label(f"p_{c.name}") for c in payables.c],
        *[c.label(f"p_line_{c.name}") for c in LINE_COLUMNS],
        *[c.label(f"o_{c.name}") for c in payment_orders.c],
    )
    .select_from(
        payables.join(payable_lines, payable_lines.c.payable_id == payables.c.id).join(
            payment_orders, payment_orders.c.payable_id == payables.c.id
        )
    )
    .where(payment_orders.c.order_no == bindparam("order_no"))
    .with_for_update(of=[payables, payment_orders])
)
_SAVE = (
    update(payment_orders)
    .where(payment_orders.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        channel_trade_no=bindparam("channel_trade_no"),
        paid_at=bindparam("paid_at"),
        qr_code=bindparam("qr_code"),
        closed_at=bindparam("closed_at"),
        version=payment_orders.c.version + 1,
    )
)


class OrdersRepository:
    """`add` runs at once (the order's id is needed); `save` is queued."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, order: Order) -> int:
        row = {
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
            "site_id": order.site_id,
            "window_id": order.window_id,
            "device_id": order.device_id,
            "shift_id": order.shift_id,
            "cart_id": order.cart_id,
            "version": 1,
        }
        order.id = int(self._sql.insert(payment_orders, row).id)
        return order.id

    def by_no(self, order_no: str, *, lock: bool = False) -> Order | None:
        row = self._sql.one(_BY_NO_LOCKED if lock else _BY_NO, {"order_no": order_no})
        return None if row is None else order_from_row(row)

    def locked_with_payable(self, order_no: str) -> tuple[Payable, Order] | None:
        """An order and its payable, both locked (payable first: the project's lock order)."""
        rows = self._sql.all(_WITH_PAYABLE_LOCKED, {"order_no": order_no})
        if not rows:
            return None
        order = order_from_row(rows[0], prefix="o_")
        return payables_from_rows(rows, prefix="p_")[0], order

    def by_id(self, order_id: int) -> Order | None:
        row = self._sql.one(_BY_ID, {"id": order_id})
        return None if row is None else order_from_row(row)

    def for_payable(self, payable_id: int) -> list[Order]:
        rows = self._sql.all(_FOR_PAYABLE, {"payable_id": payable_id})
        return [order_from_row(row) for row in rows]

    def open_created_before(self, before: datetime, limit: int) -> list[str]:
        rows = self._sql.all(_OPEN_BEFORE, {"before": before, "limit": limit})
        return [row.order_no for row in rows]

    def save(self, order: Order) -> None:
        """Queued: the order's new state, sent with the commit."""
        params = {
            "b_id": order.id,
            "status": order.status.value,
            "channel_trade_no": order.channel_trade_no,
            "paid_at": order.paid_at,
            "qr_code": order.qr_code,
            "closed_at": order.closed_at,
        }
        self._sql.queue(Change(_SAVE, params, key=("payment_orders", order.id)))


def order_from_row(row: Any, prefix: str = "") -> Order:
    """A payment_orders row (its columns labelled `<prefix><name>`) as the domain record."""
    values = _reader_of(row, prefix)(row)
    (id_, order_no, payable_id, channel, method, amount_fen, status, qr_code) = values[:8]
    (channel_trade_no, created_at, expires_at, paid_at, closed_at) = values[8:13]
    (channel_account_id, site_id, window_id, device_id, shift_id, cart_id) = values[13:]
    return Order(
        id=id_,
        order_no=order_no,
        payable_id=payable_id,
        channel=channel,
        method=OrderMethod(method),
        amount_fen=amount_fen,
        status=OrderStatus(status),
        qr_code=qr_code,
        channel_trade_no=channel_trade_no,
        created_at=utc(created_at),
        expires_at=utc(expires_at),
        paid_at=utc(paid_at) if paid_at else None,
        closed_at=utc(closed_at) if closed_at else None,
        channel_account_id=channel_account_id,
        site_id=site_id,
        window_id=window_id,
        device_id=device_id,
        shift_id=shift_id,
        cart_id=cart_id,
    )


_ORDER_NAMES = (
    *("id", "order_no", "payable_id", "channel", "method", "amount_fen", "status", "qr_code"),
    *("channel_trade_no", "created_at", "expires_at", "paid_at", "closed_at"),
    *("channel_account_id", "site_id", "window_id", "device_id", "shift_id", "cart_id"),
)
# the `_ORDER_NAMES` columns of a row, by position: per row class (the executor's rows, one
# named tuple class per compiled statement) and prefix
_READERS: dict[tuple[type, str], Callable[[Any], tuple[Any, ...]]] = {}


def _reader_of(row: Any, prefix: str) -> Callable[[Any], tuple[Any, ...]]:
    key = (type(row), prefix)
    reader = _READERS.get(key)
    if reader is None:
        at = {name: i for i, name in enumerate(row._fields)}
        reader = itemgetter(*[at[prefix + name] for name in _ORDER_NAMES])
        if not isinstance(row, tuple):  # a SQLAlchemy Row: its columns are its own
            return reader
        if len(_READERS) >= CACHE_LIMIT:
            _READERS.clear()
        _READERS[key] = reader
    return reader
