"""Helpers for the e-receipt tests: pay through the Alipay emulator, run the worker, read rows."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select, update

from publicpay.adapters.crypto import sm2
from publicpay.adapters.db.receipts.tables import receipt_jobs, receipt_stocks, receipts
from publicpay.demo.seed import credit_code
from publicpay.domain.receipts.receipts import receipt_code
from publicpay.jobs.schedule import SCHEDULE
from publicpay.jobs.worker import run_once
from tests.conftest import payable_body
from tests.support.client import SignedClient
from tests.support.polling import wait_until


def register(api: SignedClient, payer: dict[str, str], item: str = "GA0101") -> str:
    response = api.post("/api/v1/payables", payable_body(payer, item))
    assert response.status_code == 201, response.text
    return str(response.json()["payment_code"])


def pay(stack: Any, code: str) -> None:
    base = stack.info["base_url"]
    order = httpx.post(f"{base}/api/v1/pay/{code}/orders", json={"channel": "alipay"})
    assert order.status_code == 201, order.text
    scanned = httpx.post(f"{base}/emulator/alipay/scan", json={"qr_code": order.json()["qr_code"]})
    assert scanned.status_code == 200, scanned.text
    wait_until(
        lambda: httpx.get(f"{base}/api/v1/pay/{code}").json()["status"] == "paid",
        interval_s=0.02,
        message=f"{code} was not paid",
    )


RECEIPT_TASKS = tuple(t for t in SCHEDULE if t.name in ("run_refunds", "issue_receipts"))


def drain(stack: Any, rounds: int = 2) -> None:
    """Run the worker's refund and receipt tasks until the due receipt jobs are done."""
    for _ in range(rounds):
        run_once(stack.container, RECEIPT_TASKS)


def paid_with_receipt(
    stack: Any, api: SignedClient, payer: dict[str, str], item: str = "GA0101"
) -> dict[str, Any]:
    code = register(api, payer, item)
    pay(stack, code)
    drain(stack)
    body = api.get(f"/api/v1/payables/{code}").json()
    assert body["receipt"] is not None, body
    return dict(body)


def rows(stack: Any, payment_code: str) -> list[Any]:
    from publicpay.adapters.db.payables import payables

    stmt = (
        select(receipts)
        .join(payables, payables.c.id == receipts.c.payable_id)
        .where(payables.c.payment_code == payment_code)
        .order_by(receipts.c.id)
    )
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt))


def stock_numbers(stack: Any, stock_id: int) -> tuple[Any, list[int]]:
    with stack.container.engines.read.connect() as conn:
        stock = conn.execute(select(receipt_stocks).where(receipt_stocks.c.id == stock_id)).one()
        numbers = [
            int(n)
            for (n,) in conn.execute(
                select(receipts.c.number).where(receipts.c.stock_id == stock_id)
            )
        ]
    return stock, sorted(numbers)


def jobs_for(stack: Any, payable_id: int) -> list[Any]:
    with stack.container.engines.read.connect() as conn:
        return list(
            conn.execute(select(receipt_jobs).where(receipt_jobs.c.payable_id == payable_id))
        )


def make_due(stack: Any) -> None:
    """Time passes: every waiting receipt job is due again."""
    with stack.container.engines.write.begin() as conn:
        conn.execute(
            update(receipt_jobs)
            .where(receipt_jobs.c.status == "pending")
            .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
        )


def new_unit(stack: Any, stock_size: int) -> tuple[int, SignedClient]:
    """A fresh collecting unit with its key and a small number range of its own."""
    c = stack.container
    now = c.clock.now()
    suffix = f"{secrets.randbelow(10**6):06d}"
    start = 100_000_000 + secrets.randbelow(10**6) * 1000  # clear of the demo ranges
    with c.uow() as uow:
        unit_id = uow.units.add(
            f"339{suffix}", f"测试单位{suffix}", c.settings.region_code,
            credit_code("11330105", f"{suffix}00"[:8]), now,
        )  # fmt: skip
        uow.catalogue.authorise(unit_id, ("GA0101",))
        app_id, secret = f"pp_t{suffix}", secrets.token_hex(16)
        uow.units.add_client(app_id, "unit", unit_id, secret, now)
        uow.receipts.add_key("unit", f"339{suffix}", sm2.generate_private_key_pem(), now)
        code = receipt_code("33", "01", "01", now.year)
        uow.receipts.add_stock(
            code, start, start + stock_size - 1, unit_id=unit_id, issuing_point=None,
            actor="test", at=now,
        )  # fmt: skip
        uow.commit()
    return unit_id, SignedClient(stack.info["base_url"], app_id, secret)


@contextmanager
def tight_limits(stack: Any, limits: Any) -> Iterator[None]:
    """The stack's limits for callers without credentials replaced for a while (the shared
    test stacks do not throttle: every test calls from 127.0.0.1)."""
    state = stack.app.state
    before = state.anonymous_limits
    state.anonymous_limits = limits
    try:
        yield
    finally:
        state.anonymous_limits = before
