"""Read side of the kiosk (K1): a person's payables across every unit (by the keyed hash of the
ID number), one payable by payment code, the payables a payment record (an Alipay record's QR:
our order or cart number, or the channel's trade number) paid, and their printable receipts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from publicpay.adapters.db.payables import WITH_LINES, payables, payables_from_rows
from publicpay.adapters.db.payments.carts import cart_items, carts
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.receipts.tables import receipts
from publicpay.adapters.db.units import units
from publicpay.domain.catalogue import FeeItem
from publicpay.domain.codes import mask_name
from publicpay.domain.payables import Payable, PayableStatus, due_now, status_label
from publicpay.domain.receipts.receipts import can_print
from publicpay.domain.time import business_date, local_text, utc

MAX_SHOWN = 30  # a person's most recent payables on one screen


@dataclass(frozen=True, slots=True)
class PrintableReceipt:
    code: str
    number: str
    total_fen: int
    issued_at: datetime
    print_count: int


def payer_payables(conn: Connection, id_hash: str, unit_id: int | None) -> list[Payable]:
    """The person's payables, newest first (every unit, or one unit's for a unit's kiosk)."""
    ids = select(payables.c.id).where(payables.c.payer_id_hash == id_hash)
    if unit_id is not None:
        ids = ids.where(payables.c.unit_id == unit_id)
    ids = ids.order_by(payables.c.id.desc()).limit(MAX_SHOWN)
    found = [row.id for row in conn.execute(ids)]
    return by_ids(conn, found)


def by_ids(conn: Connection, ids: Sequence[int]) -> list[Payable]:
    if not ids:
        return []
    rows = list(conn.execute(WITH_LINES.where(payables.c.id.in_(list(ids)))))
    found = {p.id: p for p in payables_from_rows(rows)}
    return [found[i] for i in ids if i in found]


def by_code(conn: Connection, payment_code: str) -> list[Payable]:
    rows = list(conn.execute(WITH_LINES.where(payables.c.payment_code == payment_code)))
    return payables_from_rows(rows)


@dataclass(frozen=True, slots=True)
class Record:
    """What a payment record's QR names: its payables, and whether it was ever paid."""

    payable_ids: list[int]
    paid: bool


def by_record(conn: Connection, text: str) -> Record | None:
    """An order number, a cart number, or the channel's trade number (支付宝交易号)."""
    cart = conn.execute(
        select(carts.c.id, carts.c.status).where(
            or_(carts.c.cart_no == text, carts.c.channel_trade_no == text)
        )
    ).first()
    if cart is not None:
        items = conn.execute(select(cart_items.c.payable_id).where(cart_items.c.cart_id == cart.id))
        return Record([row.payable_id for row in items], cart.status == "succeeded")
    orders = list(
        conn.execute(
            select(payment_orders.c.payable_id, payment_orders.c.status).where(
                or_(payment_orders.c.order_no == text, payment_orders.c.channel_trade_no == text)
            )
        )
    )
    if not orders:
        return None
    paid = any(row.status == "succeeded" for row in orders)
    return Record(list(dict.fromkeys(row.payable_id for row in orders)), paid)


def unit_names(conn: Connection) -> dict[int, str]:
    return {row.id: row.name for row in conn.execute(select(units.c.id, units.c.name))}


def live_receipts(conn: Connection, payable_ids: Sequence[int]) -> dict[int, PrintableReceipt]:
    """The issued (not reversed) normal receipt of each payable that has one."""
    if not payable_ids:
        return {}
    stmt = select(
        receipts.c.payable_id,
        receipts.c.code,
        receipts.c.number,
        receipts.c.total_fen,
        receipts.c.issued_at,
        receipts.c.print_count,
    ).where(
        receipts.c.payable_id.in_(list(payable_ids)),
        receipts.c.kind == "normal",
        receipts.c.status == "issued",
    )
    return {
        row.payable_id: PrintableReceipt(
            row.code, row.number, int(row.total_fen), utc(row.issued_at), int(row.print_count)
        )
        for row in conn.execute(stmt)
    }


@dataclass(frozen=True, slots=True)
class Listing:
    """What the kiosk shows a person (or a payment code's holder): names masked."""

    payer: str  # masked
    payables: list[dict[str, Any]]  # unpaid, payable now
    receipts: list[dict[str, Any]]  # printable (issued, within the print window)
    history: list[dict[str, Any]]  # every other one: paid, refunded, cancelled, expired


def listing(
    conn: Connection,
    found: Sequence[Payable],
    items: Mapping[str, FeeItem],
    *,
    now: datetime,
    window_days: int,
) -> Listing:
    names = unit_names(conn)
    printable = live_receipts(conn, [p.id for p in found])
    today = business_date(now)
    unpaid, prints, history = [], [], []
    for p in found:
        row = {
            "payment_code": p.payment_code,
            "unit": names.get(p.unit_id, ""),
            "items": "、".join(dict.fromkeys(line.item_name for line in p.lines)),
            "amount_fen": due_now(p, items, today),
            "status": p.status.value,
            "status_label": status_label(p.status),
            "due_date": p.due_date.isoformat() if p.due_date else None,
            "paid_at": local_text(p.paid_at) if p.paid_at else None,
        }
        if p.status is PayableStatus.UNPAID:
            unpaid.append(row)
            continue
        history.append(row)
        receipt = printable.get(p.id)
        if receipt is not None and can_print(receipt.issued_at, now, window_days):
            prints.append(
                {
                    **row,
                    "code": receipt.code,
                    "number": receipt.number,
                    "total_fen": receipt.total_fen,
                    "issued_at": local_text(receipt.issued_at),
                    "print_count": receipt.print_count,
                }
            )
    payer = mask_name(found[0].payer_name) if found else ""
    return Listing(payer, unpaid, prints, history)
