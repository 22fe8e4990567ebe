"""Driving the emulators' faults and the platform's recovery from the fault tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.refunds import refunds
from publicpay.jobs.worker import run_once
from publicpay.services.payments.recovery import recover_open_orders
from publicpay.services.refunds.execution import run_due_refunds
from tests.integration.channel_kit import TERMINAL, base, orders_of, wait_until

ORDER_FIELD = {"alipay": "out_trade_no", "wechat": "out_trade_no", "unionpay": "order_id"}


def fault(
    stack: Any, channel: str, name: str, order_no: str = "*", seconds: float | None = None
) -> None:
    body = {ORDER_FIELD[channel]: order_no, "fault": name, "seconds": seconds}
    response = httpx.post(f"{base(stack)}/emulator/{channel}/faults", json=body, timeout=5)
    assert response.status_code == 200, response.text


def clear_faults(stack: Any, channel: str) -> None:
    assert httpx.delete(f"{base(stack)}/emulator/{channel}/faults", timeout=5).status_code == 200


@contextmanager
def faulty(stack: Any, channel: str, name: str, seconds: float | None = None) -> Iterator[None]:
    """A fault on every order of `channel` while the block runs."""
    fault(stack, channel, name, "*", seconds)
    try:
        yield
    finally:
        clear_faults(stack, channel)


def deliveries(stack: Any, channel: str, order_no: str) -> list[dict[str, Any]]:
    param = "order_id" if channel == "unionpay" else "out_trade_no"
    url = f"{base(stack)}/emulator/{channel}/notifications"
    data = httpx.get(url, params={param: order_no}, timeout=5).json()
    return list(data if isinstance(data, list) else data["notifications"])


def wait_deliveries(stack: Any, channel: str, order_no: str, count: int, status: str) -> None:
    """Until `count` notification copies for the order reached `status` at the emulator."""

    def reached() -> bool:
        found = [d for d in deliveries(stack, channel, order_no) if d["status"] == status]
        return len(found) >= count

    wait_until(reached)


def answers(stack: Any, channel: str, order_no: str) -> list[tuple[int | None, str]]:
    """(HTTP status, body) of our answers to the channel's notifications for the order."""
    return [
        (a["status_code"], a["response_body"])
        for d in deliveries(stack, channel, order_no)
        for a in d["attempts"]
    ]


# Each channel's "not taken, send again": Alipay any body but `success`; WeChat v3 4xx/5xx with
# {"code": "FAIL"}; UnionPay anything but HTTP 200.
REFUSED = {"alipay": (200, "failure"), "wechat": (400, '{"code": "FAIL", "message": "失败"}')}
REFUSED["unionpay"] = (400, "fail")


def channel_trade(stack: Any, channel: str, order_no: str) -> dict[str, Any]:
    response = httpx.get(f"{base(stack)}/emulator/{channel}/trades/{order_no}", timeout=5)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refunded_at_channel(stack: Any, channel: str, order_no: str) -> int:
    trade = channel_trade(stack, channel, order_no)
    if channel == "alipay":
        return round(float(trade["refunded_amount"]) * 100)
    if channel == "wechat":
        return int(trade["refunded"])
    return int(trade["refunded_fen"])


@dataclass
class AheadClock:
    """The platform's clock moved `seconds` ahead: orders expire, refund retries fall due."""

    seconds: float

    def now(self) -> datetime:
        return datetime.now().astimezone() + timedelta(seconds=self.seconds)


def settle(stack: Any, *, ahead_s: float = 0.0) -> None:
    """Run the worker once, then recovery and refunds as if `ahead_s` had passed."""
    c = stack.container
    run_once(c)
    clock = AheadClock(ahead_s)
    recover_open_orders(c.uow, c.gateways, clock=clock, older_than_s=0)
    run_due_refunds(c.uow, c.gateways, clock=clock, notify_url=c.payment_policy().notify_url_for)


def assert_settled(stack: Any, code: str) -> None:
    """Every order of the payable is terminal and the ledger invariants hold."""
    assert {o["status"] for o in orders_of(stack, code)} <= TERMINAL, orders_of(stack, code)
    with stack.container.engines.read.connect() as conn:
        report = run_checks(conn)
    assert report.ok, report.violations


def refund_statuses(stack: Any, code: str) -> list[str]:
    r, p = refunds, payables
    stmt = select(r.c.status).join(p, p.c.id == r.c.payable_id).where(p.c.payment_code == code)
    with stack.container.engines.read.connect() as conn:
        return [str(s) for s in conn.execute(stmt).scalars()]
