"""Carts (M4+): several payables paid in one channel payment. The cart is what the channel
sees (its number is the channel's out_trade_no, its amount the total); each payable in it is
settled by an order of its own (`payment_orders.cart_id`) when the channel reports success."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    select,
    update,
)

from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Change, Sql
from publicpay.domain.payments.carts import Cart, CartItem, CartStatus
from publicpay.domain.time import utc

carts = Table(
    "carts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("cart_no", String(32), nullable=False, unique=True),
    Column("channel", String(20), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),  # domain.payments.carts.CartStatus
    Column("qr_code", String(500), nullable=True),
    Column("channel_account_id", Id, nullable=True),
    Column("channel_trade_no", String(64), nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("expires_at", Ts, nullable=False),
    Column("paid_at", Ts, nullable=True),
    Column("closed_at", Ts, nullable=True),
    Column("device_id", Id, nullable=True),  # the kiosk it was opened at, if any
    Column("site_id", Id, nullable=True),
    Index("ix_carts_status_created", "status", "created_at"),
)

cart_items = Table(
    "cart_items",
    metadata,
    Column("cart_id", Id, ForeignKey("carts.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("payable_id", Id, ForeignKey("payables.id"), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
    UniqueConstraint("cart_id", "payable_id", name="uq_cart_items_cart_id_payable_id"),
)

_BY_NO = select(carts).where(carts.c.cart_no == bindparam("cart_no"))
_BY_NO_LOCKED = _BY_NO.with_for_update()
_BY_ID = select(carts).where(carts.c.id == bindparam("id"))
_ITEMS = (
    select(cart_items)
    .where(cart_items.c.cart_id == bindparam("cart_id"))
    .order_by(cart_items.c.line_no)
)
_OPEN_BEFORE = (
    select(carts.c.cart_no)
    .where(carts.c.status == CartStatus.PAYING.value, carts.c.created_at < bindparam("before"))
    .order_by(carts.c.id)
    .limit(bindparam("limit"))
)
_SAVE = (
    update(carts)
    .where(carts.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        qr_code=bindparam("qr_code"),
        channel_trade_no=bindparam("channel_trade_no"),
        paid_at=bindparam("paid_at"),
        closed_at=bindparam("closed_at"),
    )
)
_OPEN_AT = (
    update(carts)
    .where(carts.c.id == bindparam("b_id"))
    .values(channel=bindparam("channel"), channel_account_id=bindparam("account_id"))
)


class CartsRepository:
    """`add` runs at once (the cart's id is needed); `save` is queued."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, cart: Cart) -> int:
        row = {
            "cart_no": cart.cart_no,
            "channel": cart.channel,
            "amount_fen": cart.amount_fen,
            "status": cart.status.value,
            "qr_code": cart.qr_code,
            "channel_account_id": cart.channel_account_id,
            "created_at": cart.created_at,
            "expires_at": cart.expires_at,
            "device_id": cart.device_id,
            "site_id": cart.site_id,
        }
        cart.id = int(self._sql.insert(carts, row).id)
        for n, item in enumerate(cart.items, start=1):
            values = {"cart_id": cart.id, "line_no": n, "payable_id": item.payable_id}
            self._sql.insert(cart_items, {**values, "amount_fen": item.amount_fen})
        return cart.id

    def by_no(self, cart_no: str, *, lock: bool = False) -> Cart | None:
        row = self._sql.one(_BY_NO_LOCKED if lock else _BY_NO, {"cart_no": cart_no})
        return None if row is None else self._cart(row)

    def by_id(self, cart_id: int) -> Cart | None:
        row = self._sql.one(_BY_ID, {"id": cart_id})
        return None if row is None else self._cart(row)

    def open_created_before(self, before: Any, limit: int) -> list[str]:
        rows = self._sql.all(_OPEN_BEFORE, {"before": before, "limit": limit})
        return [row.cart_no for row in rows]

    def save(self, cart: Cart) -> None:
        """Queued: the cart's new state, sent with the commit."""
        params = {
            "b_id": cart.id,
            "status": cart.status.value,
            "qr_code": cart.qr_code,
            "channel_trade_no": cart.channel_trade_no,
            "paid_at": cart.paid_at,
            "closed_at": cart.closed_at,
        }
        self._sql.queue(Change(_SAVE, params, key=("carts", cart.id)))

    def open_at(self, cart: Cart) -> None:
        """Queued: an aggregate cart's channel and merchant account, once a wallet opened it."""
        params = {"b_id": cart.id, "channel": cart.channel, "account_id": cart.channel_account_id}
        self._sql.queue(Change(_OPEN_AT, params, key=("carts-open", cart.id)))

    def _cart(self, row: Any) -> Cart:
        items = [
            CartItem(r.payable_id, r.amount_fen) for r in self._sql.all(_ITEMS, {"cart_id": row.id})
        ]
        return Cart(
            id=row.id,
            cart_no=row.cart_no,
            channel=row.channel,
            amount_fen=row.amount_fen,
            status=CartStatus(row.status),
            items=items,
            qr_code=row.qr_code,
            channel_account_id=row.channel_account_id,
            channel_trade_no=row.channel_trade_no,
            created_at=utc(row.created_at),
            expires_at=utc(row.expires_at),
            paid_at=utc(row.paid_at) if row.paid_at else None,
            closed_at=utc(row.closed_at) if row.closed_at else None,
            device_id=row.device_id,
            site_id=row.site_id,
        )
