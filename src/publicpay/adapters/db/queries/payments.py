"""The bank counter's daily statement (对账文件) for one bank and one business day.

CSV, UTF-8 with a BOM (opens in Excel), CRLF line ends:

    bank_serial,payment_code,amount,paid_at,status
    <one row per payment confirmed that day: amount in yuan, status "paid" (or "duplicate")>
    <one row per reversal that day: negative amount, time of the reversal, status "reversed">
    count,<number of rows>
    total,<net amount in yuan>

Times are Asia/Shanghai `YYYY-MM-DD HH:MM:SS`. Which bank took an order is known from the inbox
row its confirmation was stored in (notify id `<bank app id>:<bank serial>`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select

from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import inbox, payment_orders
from publicpay.domain.money import Money
from publicpay.domain.time import SHANGHAI, local_text, utc

HEADER = ("bank_serial", "payment_code", "amount", "paid_at", "status")


@dataclass(frozen=True, slots=True)
class StatementRow:
    bank_serial: str
    payment_code: str
    amount_fen: int
    at: datetime
    status: str  # paid | duplicate | reversed


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), SHANGHAI)
    return start, start + timedelta(days=1)


def statement_rows(conn: Connection, bank: str, day: date) -> list[StatementRow]:
    start, end = day_bounds(day)
    prefix = f"{bank}:"
    stmt = (
        select(
            payment_orders.c.id,
            payment_orders.c.channel_trade_no,
            payment_orders.c.amount_fen,
            payment_orders.c.status,
            payment_orders.c.paid_at,
            payment_orders.c.closed_at,
            payables.c.payment_code,
            payables.c.paid_order_id,
        )
        .select_from(
            payment_orders.join(payables, payables.c.id == payment_orders.c.payable_id).join(
                inbox,
                and_(
                    inbox.c.channel == "counter",
                    inbox.c.order_no == payment_orders.c.order_no,
                    func.substr(inbox.c.notify_id, 1, len(prefix)) == prefix,
                ),
            )
        )
        .where(
            payment_orders.c.channel == "counter",
            payment_orders.c.status.in_(("succeeded", "reversed")),
            ((payment_orders.c.paid_at >= start) & (payment_orders.c.paid_at < end))
            | ((payment_orders.c.closed_at >= start) & (payment_orders.c.closed_at < end)),
        )
    )
    rows: list[StatementRow] = []
    for r in conn.execute(stmt):
        rows += _rows_for(r, start, end)
    return sorted(rows, key=lambda row: (row.at, row.status != "reversed", row.bank_serial))


def _rows_for(r: Any, start: datetime, end: datetime) -> list[StatementRow]:
    out: list[StatementRow] = []
    amount = int(r.amount_fen)
    paid_at = utc(r.paid_at)
    if start <= paid_at < end:
        duplicate = r.status == "succeeded" and r.paid_order_id != r.id
        status = "duplicate" if duplicate else "paid"
        out.append(StatementRow(r.channel_trade_no, r.payment_code, amount, paid_at, status))
    if r.status == "reversed" and r.closed_at is not None and start <= utc(r.closed_at) < end:
        reversed_at = utc(r.closed_at)
        out.append(
            StatementRow(r.channel_trade_no, r.payment_code, -amount, reversed_at, "reversed")
        )
    return out


def render_csv(rows: list[StatementRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [
                row.bank_serial,
                row.payment_code,
                _yuan(row.amount_fen),
                local_text(row.at),
                row.status,
            ]
        )
    writer.writerow(["count", len(rows)])
    writer.writerow(["total", _yuan(sum(row.amount_fen for row in rows))])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _yuan(fen: int) -> str:
    return Money(fen).to_yuan()
