"""Carts (M4+) over HTTP with the emulated wallets: several payables paid in one payment (one
channel order), each payable paid by its own order, split back exactly in the ledger, a receipt
per payable, a refund of one of them against the cart's channel payment; bad carts refused."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from publicpay.adapters.db.payments.carts import carts
from publicpay.adapters.db.payments.tables import payment_orders
from tests.integration.channel_kit import journals, refunds_of
from tests.integration.receipt_kit import drain, register
from tests.integration.refund_kit import approved_refund
from tests.support.client import SignedClient
from tests.support.db import counts, ledger_for, payable_id
from tests.support.polling import wait_until


def _cart(
    stack: Any, codes: list[str], channel: str = "alipay", headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"payment_codes": codes, "channel": channel}
    url = f"{stack.info['base_url']}/api/v1/pay/cart/orders"
    return httpx.post(url, json=body, headers=headers or {})


def _carts(stack: Any) -> int:
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(carts)).scalar_one())


def _status(stack: Any, code: str) -> str:
    return str(httpx.get(f"{stack.info['base_url']}/api/v1/pay/{code}").json()["status"])


def _pay_cart(stack: Any, codes: list[str], channel: str = "alipay") -> dict[str, Any]:
    opened = _cart(stack, codes, channel)
    assert opened.status_code == 201, opened.text
    scanned = httpx.post(
        f"{stack.info['base_url']}/emulator/{channel}/scan",
        json={"qr_code": opened.json()["qr_code"]},
    )
    assert scanned.status_code == 200, scanned.text
    wait_until(
        lambda: all(_status(stack, code) == "paid" for code in codes),
        interval_s=0.02,
        message="cart not paid",
    )
    return dict(opened.json())


def _orders(stack: Any, code: str) -> list[Any]:
    stmt = select(payment_orders).where(payment_orders.c.payable_id == payable_id(stack, code))
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt))


def test_two_payables_of_two_units_are_paid_in_one_payment_and_split_back_exactly(
    stack: Any, api: SignedClient, school_api: SignedClient, payer: dict[str, str]
) -> None:
    codes = [register(api, payer, "GA0101"), register(school_api, payer, "JY0101")]
    cart = _pay_cart(stack, codes)
    assert cart["order_no"].startswith("C")
    amounts = {line["payment_code"]: line["amount_fen"] for line in cart["lines"]}
    assert sum(amounts.values()) == cart["amount_fen"]
    for code in codes:
        (order,) = _orders(stack, code)
        assert order.status == "succeeded"
        assert order.amount_fen == amounts[code]
        assert order.cart_id is not None
        assert journals(stack, code) == ["payment"]
        ledger = ledger_for(stack, payable_id(stack, code))
        assert sum(v for v in ledger.values() if v > 0) == amounts[code]
    drain(stack)
    receipts = [api.get(f"/api/v1/payables/{codes[0]}").json()["receipt"],
                school_api.get(f"/api/v1/payables/{codes[1]}").json()["receipt"]]  # fmt: skip
    assert all(receipts)
    assert receipts[0]["number"] != receipts[1]["number"]


def test_one_payable_of_a_cart_is_refunded_against_the_carts_channel_payment(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    codes = [register(api, payer, "GA0101"), register(api, payer, "GA0105")]
    cart = _pay_cart(stack, codes)
    amount = next(x["amount_fen"] for x in cart["lines"] if x["payment_code"] == codes[1])
    approved_refund(stack, api, codes[1], amount)
    drain(stack, rounds=3)
    (refund,) = refunds_of(stack, codes[1])
    assert refund["status"] == "succeeded", refund
    assert _status(stack, codes[1]) == "refunded"
    assert _status(stack, codes[0]) == "paid"


def test_bad_carts_are_refused_and_change_nothing(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    paid, unpaid, other = register(api, payer), register(api, payer), register(api, payer)
    _pay_cart(stack, [paid, register(api, payer)])
    mistyped = unpaid[:-1] + str((int(unpaid[-1]) + 1) % 10)
    before, carts_before = counts(stack), _carts(stack)
    cases = {
        "one": _cart(stack, [unpaid]),
        "twice": _cart(stack, [unpaid, unpaid]),
        "paid": _cart(stack, [unpaid, paid]),
        "mistyped": _cart(stack, [unpaid, mistyped]),
        "channel": _cart(stack, [unpaid, other], "paypal"),
    }
    statuses = {name: r.status_code for name, r in cases.items()}
    assert statuses == {"one": 422, "twice": 422, "paid": 422, "mistyped": 422, "channel": 422}
    assert "不能再支付" in cases["paid"].json()["detail"]
    assert all(
        r.headers["content-type"].startswith("application/problem+json") for r in cases.values()
    )
    assert counts(stack) == before
    assert _carts(stack) == carts_before


def test_a_second_tap_on_pay_with_the_same_key_opens_no_second_payment(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    codes = [register(api, payer), register(api, payer)]
    headers = {"Idempotency-Key": "kiosk-tap-" + codes[0]}
    first, second = _cart(stack, codes, headers=headers), _cart(stack, codes, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["order_no"] == second.json()["order_no"]


def test_an_aggregate_cart_is_paid_by_the_first_wallet_and_refused_to_another(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    codes = [register(api, payer), register(api, payer)]
    opened = _cart(stack, codes, "aggregate")
    assert opened.status_code == 201, opened.text
    url = opened.json()["qr_code"]
    assert "/pay/a/" in url
    base = stack.info["base_url"]
    alipay_ua = {"User-Agent": "Mozilla/5.0 AlipayClient/10.5.36.8000"}
    first = httpx.get(url, headers=alipay_ua)
    assert first.status_code == 302
    again = httpx.get(url, headers=alipay_ua)
    assert again.headers["location"] == first.headers["location"]  # the same order
    wechat = httpx.get(url + "?openid=o_test", headers={"User-Agent": "MicroMessenger/8.0.47"})
    assert wechat.status_code == 409
    assert "支付宝" in wechat.text
    scanned = httpx.post(f"{base}/emulator/alipay/scan", json={"qr_code": url})
    assert scanned.status_code == 200, scanned.text
    wait_until(
        lambda: all(_status(stack, code) == "paid" for code in codes),
        interval_s=0.02,
        message="aggregate cart not paid",
    )
