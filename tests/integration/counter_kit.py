"""Helpers shared by the bank counter and cash tests: register, snapshot, ledger, events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import inbox, payment_orders
from publicpay.demo.stack import Stack
from publicpay.domain.payments.channels import Channel
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.emulators.bank import BankTeller
from publicpay.services.payments import in_person
from publicpay.services.payments.counter import ConfirmPayment
from publicpay.services.payments.orders import new_order_no
from tests.conftest import payable_body
from tests.support.client import SignedClient

PLATE_FEE_FEN = 10_000  # GA0101 汽车号牌, 100 元 a pair


def bank_teller(stack: Stack) -> BankTeller:
    bank = stack.info["bank"]
    base = str(stack.info["base_url"])
    return BankTeller(base, bank["app_id"], bank["app_secret"], books=stack.bank)


def register(api: SignedClient, payer: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/payables", payable_body(payer, **extra))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def serial() -> str:
    return "S" + uuid.uuid4().hex[:20].upper()


def snapshot(stack: Stack) -> dict[str, Any]:
    with stack.container.read_uow() as uow:
        conn = uow.connection
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (payment_orders, ledger_journals, ledger_postings, inbox)
        }
        counts["statuses"] = sorted(
            (row.payment_code, row.status) for row in conn.execute(select(payables))
        )
    return counts


def ledger_of(stack: Stack, payment_code: str) -> dict[str, int]:
    with stack.container.read_uow() as uow:
        stmt = (
            select(ledger_postings.c.account, func.sum(ledger_postings.c.amount_fen))
            .select_from(ledger_postings.join(ledger_journals))
            .join(payables, payables.c.id == ledger_journals.c.payable_id)
            .where(payables.c.payment_code == payment_code)
            .group_by(ledger_postings.c.account)
        )
        return {account: int(total) for account, total in uow.connection.execute(stmt)}


def events_of(api: SignedClient, payment_code: str) -> list[dict[str, Any]]:
    found, cursor = [], 0
    while True:
        page = api.get(f"/api/v1/events?after={cursor}&limit=500").json()
        found += [e for e in page["events"] if e["data"].get("payment_code") == payment_code]
        if not page["events"]:
            return found
        cursor = page["next_cursor"]


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    data: dict[str, Any] = response.json()
    return data


class ShiftedClock:
    def __init__(self, delta: timedelta) -> None:
        self.delta = delta

    def now(self) -> datetime:
        return datetime.now(UTC) + self.delta


@contextmanager
def platform_time_shifted(stack: Stack, delta: timedelta) -> Iterator[int]:
    """Move the platform's clock; yields the matching X-Timestamp for signed requests."""
    original = stack.container.clock
    stack.container.clock = ShiftedClock(delta)  # type: ignore[assignment]
    try:
        yield int((datetime.now(UTC) + delta).timestamp())
    finally:
        stack.container.clock = original


def cut_short_confirm(stack: Stack, code: str, bank: str, bank_serial: str) -> None:
    """What an earlier version (which applied a counter payment in a second transaction) left
    when it stopped between the two: the confirmation stored with a new order still paying."""
    cmd = ConfirmPayment(bank, bank_serial, code, PLATE_FEE_FEN, branch="0101", teller="T01")
    request = in_person.InPersonRequest(
        channel=Channel.COUNTER,
        source=cmd.bank,
        serial=cmd.bank_serial,
        payment_code=cmd.payment_code,
        amount_fen=cmd.amount_fen,
        detail={"branch": cmd.branch, "teller": cmd.teller},
    )
    now = stack.container.clock.now()
    with stack.container.uow() as uow:
        payable = uow.payables.by_code(code, lock=True)
        assert payable is not None
        order = Order(
            id=0,
            order_no=new_order_no(now),
            payable_id=payable.id,
            channel=Channel.COUNTER.value,
            method=OrderMethod.COUNTER,
            amount_fen=PLATE_FEE_FEN,
            status=OrderStatus.PAYING,
            qr_code=None,
            channel_trade_no=bank_serial,
            created_at=now,
            expires_at=now,
            paid_at=now,
        )
        uow.orders.add(order)
        assert uow.inbox.add("counter", request.key, order.order_no, request.body(), now)
        uow.commit()
