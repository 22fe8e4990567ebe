"""The window POS's other ways to take a payment (W1, issue 13): an aggregate QR the payer
scans on the POS or customer display (the page turns paid by itself), and receipts drawn from
the terminal's own stock (its issuing point)."""

from __future__ import annotations

import html
from typing import Any

import httpx
from sqlalchemy import select

from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.receipts.tables import receipt_stocks, receipts
from tests.integration.console_kit import csrf_of
from tests.integration.pos_kit import at_window, new_plate, register_with_plate
from tests.integration.receipt_kit import drain
from tests.support.client import SignedClient
from tests.support.polling import wait_until


def _orders(stack: Any, code: str) -> list[Any]:
    stmt = (
        select(payment_orders)
        .join(payables, payables.c.id == payment_orders.c.payable_id)
        .where(payables.c.payment_code == code)
    )
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt).all())


def _receipt_point(stack: Any, code: str) -> str | None:
    stmt = (
        select(receipt_stocks.c.issuing_point)
        .join(receipts, receipts.c.stock_id == receipt_stocks.c.id)
        .join(payables, payables.c.id == receipts.c.payable_id)
        .where(payables.c.payment_code == code)
    )
    with stack.container.engines.read.connect() as conn:
        return conn.execute(stmt).scalar_one()


def _qr_of(page: str) -> str:
    return html.unescape(page.split('data-qr="')[1].split('"', maxsplit=1)[0])


def test_pos_shows_an_aggregate_qr_the_payer_scans_and_the_page_turns_paid(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    payable = register_with_plate(api, payer, new_plate())
    code = payable["payment_code"]
    with at_window(stack, own_stock=True) as (client, window_id, app_id):
        pay_page = client.get(f"/console/pos/pay/{code}")
        assert 'id="pay-qr"' in pay_page.text
        shown = client.get(f"/console/pos/pay/{code}/qr")
        assert shown.status_code == 200, shown.text
        assert "<svg" in shown.text
        again = client.get(f"/console/pos/pay/{code}/qr")  # shown twice: nothing stored yet
        assert _orders(stack, code) == []
        assert client.get(f"/console/pos/status/{code}").json()["paid"] is False

        scanned = httpx.post(
            f"{stack.info['base_url']}/emulator/wechat/scan", json={"qr_code": _qr_of(shown.text)}
        )
        assert scanned.status_code == 200, scanned.text
        wait_until(
            lambda: client.get(f"/console/pos/status/{code}").json()["paid"],
            interval_s=0.02,
            message="the POS page never saw the payment",
        )
        late = httpx.post(  # the older code scanned by another wallet: refused, not charged
            f"{stack.info['base_url']}/emulator/alipay/scan", json={"qr_code": _qr_of(again.text)}
        )
        assert late.status_code != 200
        done = client.get(f"/console/pos/done/{code}")
        assert "支付成功" in done.text
        assert 'data-status="paid"' in done.text
        (order,) = [o for o in _orders(stack, code) if o.status == "succeeded"]
        assert (order.channel, order.method, order.window_id) == ("wechat", "qr", window_id)
        assert order.shift_id is not None
        assert order.device_id is not None

        drain(stack)
        assert _receipt_point(stack, code) == app_id  # the terminal's own stock
        printed = client.post(f"/console/pos/receipt/{code}", data={"csrf": csrf_of(done.text)})
        assert printed.headers["content-type"] == "application/pdf"


def test_pos_qr_for_a_paid_payable_is_refused_with_a_message(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register_with_plate(api, payer, new_plate())["payment_code"]
    assert api.post(f"/api/v1/payables/{code}/cancel", {}).status_code == 200
    with at_window(stack) as (client, _window_id, _app_id):
        refused = client.get(f"/console/pos/pay/{code}/qr")
        assert refused.status_code == 422
        assert "不能再支付" in refused.text
        assert client.get("/console/pos/status/00000000000000000000").status_code == 404
