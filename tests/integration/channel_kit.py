"""What the channel tests share: payer, wallet and cashier moves over real HTTP, and DB checks."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from publicpay.adapters.db.ledger import ledger_journals
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments import tables as payment_tables
from publicpay.adapters.db.refunds import refunds
from tests.conftest import payable_body
from tests.support import polling
from tests.support.client import SignedClient

CHANNELS = ("alipay", "wechat", "unionpay")
TERMINAL = frozenset({"succeeded", "closed", "failed"})


def base(stack: Any) -> str:
    return str(stack.info["base_url"])


def register(api: SignedClient, payer: dict[str, str], item: str = "GA0101") -> dict[str, Any]:
    response = api.post("/api/v1/payables", payable_body(payer, item))
    assert response.status_code == 201, response.text
    return dict(response.json())


def open_order(stack: Any, code: str, channel: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base(stack)}/api/v1/pay/{code}/orders", json={"channel": channel}, timeout=10
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def scan(stack: Any, qr_code: str, channel: str) -> httpx.Response:
    return httpx.post(
        f"{base(stack)}/emulator/{channel}/scan", json={"qr_code": qr_code}, timeout=15
    )


def payable_status(stack: Any, code: str) -> dict[str, Any]:
    return dict(httpx.get(f"{base(stack)}/api/v1/pay/{code}", timeout=5).json())


def wait_until(condition: Any, timeout: float = 8.0) -> None:
    polling.wait_until(condition, timeout_s=timeout, interval_s=0.02)


def wait_status(stack: Any, code: str, status: str) -> dict[str, Any]:
    wait_until(lambda: payable_status(stack, code)["status"] == status)
    return payable_status(stack, code)


def orders_of(stack: Any, code: str) -> list[dict[str, Any]]:
    o, p = payment_tables.payment_orders, payables
    stmt = (
        select(o.c.order_no, o.c.channel, o.c.method, o.c.status, o.c.amount_fen)
        .join(p, p.c.id == o.c.payable_id)
        .where(p.c.payment_code == code)
        .order_by(o.c.id)
    )
    with stack.container.engines.read.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def order_status(stack: Any, order_no: str) -> str:
    o = payment_tables.payment_orders
    with stack.container.engines.read.connect() as conn:
        return str(conn.execute(select(o.c.status).where(o.c.order_no == order_no)).scalar_one())


def journals(stack: Any, code: str) -> list[str]:
    """Kinds of the ledger journals of one payable, in order."""
    j, p = ledger_journals, payables
    stmt = (
        select(j.c.kind)
        .join(p, p.c.id == j.c.payable_id)
        .where(p.c.payment_code == code)
        .order_by(j.c.id)
    )
    with stack.container.engines.read.connect() as conn:
        return [str(kind) for kind in conn.execute(stmt).scalars()]


def discrepancies(stack: Any, order_no: str) -> list[str]:
    d = payment_tables.discrepancies
    with stack.container.engines.read.connect() as conn:
        return sorted(conn.execute(select(d.c.kind).where(d.c.order_no == order_no)).scalars())


def refunds_of(stack: Any, code: str) -> list[dict[str, Any]]:
    r, p = refunds, payables
    stmt = (
        select(r.c.refund_no, r.c.channel, r.c.status, r.c.amount_fen, r.c.kind)
        .join(p, p.c.id == r.c.payable_id)
        .where(p.c.payment_code == code)
    )
    with stack.container.engines.read.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def inbox_count(stack: Any) -> int:
    with stack.container.engines.read.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(payment_tables.inbox)).scalar_one()
        )


def device_client(stack: Any) -> SignedClient:
    kiosk = stack.info["kiosk"]
    return SignedClient(base(stack), kiosk["device_id"], kiosk["device_secret"])


def barcode(stack: Any, channel: str, **options: Any) -> str:
    response = httpx.post(f"{base(stack)}/emulator/{channel}/barcodes", json=options, timeout=5)
    assert response.status_code == 200, response.text
    return str(response.json()["auth_code"])
