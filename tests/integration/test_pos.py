"""The window POS (W1) over HTTP: a cashier opens a shift at a window, finds the business record
by plate (or ID number, business number), sees the priced items, takes the payment by scanned
付款码 or in cash with change inside the shift, prints the receipt; and the bad inputs: an
unknown wallet's barcode, a paid or cancelled payable, a repeated cash tap, no shift."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select

from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.domain.money import format_yuan
from tests.integration.channel_kit import barcode
from tests.integration.console_kit import csrf_of, logged_in
from tests.integration.pos_kit import (
    at_window,
    new_cashier,
    new_plate,
    register_with_plate,
)
from tests.integration.receipt_kit import drain
from tests.support.client import SignedClient


def _order(stack: Any, code: str) -> Any:
    stmt = (
        select(payment_orders)
        .join(payables, payables.c.id == payment_orders.c.payable_id)
        .where(payables.c.payment_code == code)
    )
    with stack.container.engines.read.connect() as conn:
        return conn.execute(stmt).one()


def _pay_form(client: httpx.Client, code: str) -> str:
    page = client.get(f"/console/pos/pay/{code}")
    assert page.status_code == 200, page.text
    return page.text


def test_pos_entry_leads_to_the_cashiers_screen_behind_login(stack: Any) -> None:
    response = httpx.get(f"{stack.info['base_url']}/pos")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/pos"
    login = httpx.get(f"{stack.info['base_url']}/console/pos")
    assert login.status_code == 303
    assert login.headers["location"].startswith("/console/login")


def test_cashier_finds_by_plate_and_takes_a_scanned_barcode_in_the_shift(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    plate = new_plate()
    payable = register_with_plate(api, payer, plate)
    code = payable["payment_code"]
    with at_window(stack) as (client, window_id, _app_id):
        found = client.get("/console/pos", params={"q": plate.replace("·", "").lower()})
        assert found.status_code == 200
        assert f'data-code="{code}"' in found.text
        assert "汽车号牌" in found.text
        assert format_yuan(payable["amount_fen"]) in found.text
        assert plate not in found.text  # shown masked
        by_id = client.get("/console/pos", params={"q": payer["id_no"]})
        assert f'data-code="{code}"' in by_id.text

        csrf = csrf_of(_pay_form(client, code))
        paid = client.post(
            f"/console/pos/pay/{code}/barcode",
            data={"auth_code": barcode(stack, "wechat"), "csrf": csrf},
        )
        assert paid.status_code == 200, paid.text
        assert "支付成功" in paid.text
        assert 'data-status="paid"' in paid.text
        order = _order(stack, code)
        assert (order.channel, order.method, order.window_id) == ("wechat", "barcode", window_id)
        assert order.shift_id is not None

        drain(stack)
        printed = client.post(f"/console/pos/receipt/{code}", data={"csrf": csrf})
        assert printed.status_code == 200
        assert printed.headers["content-type"] == "application/pdf"
        assert printed.headers["x-print-count"] == "1"
        again = client.post(f"/console/pos/receipt/{code}", data={"csrf": csrf})
        assert again.headers["x-reprint"] == "true"


def test_cash_inside_the_shift_gives_change_and_a_second_tap_books_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    payable = register_with_plate(api, payer, new_plate())
    code, due = payable["payment_code"], payable["amount_fen"]
    with at_window(stack) as (client, _window_id, _app_id):
        form = _pay_form(client, code)
        attempt = form.split('name="attempt" value="')[1].split('"')[0]
        data = {"received": f"{(due + 5000) / 100:.2f}", "attempt": attempt, "csrf": csrf_of(form)}
        first = client.post(f"/console/pos/pay/{code}/cash", data=data)
        second = client.post(f"/console/pos/pay/{code}/cash", data=data)  # the same tap again
        assert first.status_code == 200, first.text
        assert "现金收款成功" in first.text
        assert format_yuan(5000) in first.text.split('id="change">')[1]
        assert second.status_code == 200, second.text  # the same answer, nothing booked twice
        order = _order(stack, code)  # .one(): exactly one order
        assert (order.channel, order.amount_fen) == ("cash", due)
        assert order.shift_id is not None


def test_bad_inputs_at_the_window_are_refused_with_a_message_and_change_nothing(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    payable = register_with_plate(api, payer, new_plate())
    code, due = payable["payment_code"], payable["amount_fen"]
    with at_window(stack) as (client, _window_id, _app_id):
        csrf = csrf_of(_pay_form(client, code))
        unknown = client.post(
            f"/console/pos/pay/{code}/barcode",
            data={"auth_code": "991234567890123456", "csrf": csrf},
        )
        assert unknown.status_code == 422
        assert "付款码" in unknown.text
        short = client.post(
            f"/console/pos/pay/{code}/cash",
            data={"received": f"{(due - 100) / 100:.2f}", "attempt": "a" * 16, "csrf": csrf},
        )
        assert short.status_code == 422
        assert "少于应缴" in short.text
        nonsense = client.post(
            f"/console/pos/pay/{code}/cash", data={"received": "十元", "csrf": csrf}
        )
        assert nonsense.status_code == 422
        missing = client.get("/console/pos", params={"q": "浙Z99999"})
        assert 'id="not-found"' in missing.text
        assert api.post(f"/api/v1/payables/{code}/cancel", {}).status_code == 200
        cancelled = client.post(
            f"/console/pos/pay/{code}/barcode",
            data={"auth_code": barcode(stack, "alipay"), "csrf": csrf},
        )
        assert cancelled.status_code == 422
        assert "已撤销" in cancelled.text
    with stack.container.engines.read.connect() as conn:
        orders = conn.execute(
            select(payment_orders.c.id)
            .join(payables, payables.c.id == payment_orders.c.payable_id)
            .where(payables.c.payment_code == code, payment_orders.c.status == "succeeded")
        ).all()
    assert orders == []


def test_no_payment_before_the_shift_is_open(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register_with_plate(api, payer, new_plate())["payment_code"]
    with logged_in(stack.info["base_url"], new_cashier(stack)) as client:
        page = client.get("/console/pos")
        assert 'id="pos-open"' in page.text
        refused = client.get(f"/console/pos/pay/{code}")
        assert refused.status_code == 409
        assert "开班" in refused.text


def test_another_units_payable_is_not_found_at_the_window(
    stack: Any, school_api: SignedClient, payer: dict[str, str]
) -> None:
    body_code = school_api.post(
        "/api/v1/payables",
        {
            "biz_no": f"S{new_plate()[-5:]}",
            "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"]},
            "items": [{"item_code": "JY0101", "quantity": 1}],
            "attributes": {"case_no": "SCHOOL-1"},
        },
    ).json()["payment_code"]
    with at_window(stack) as (client, _window_id, _app_id):
        assert 'id="not-found"' in client.get("/console/pos", params={"q": "SCHOOL-1"}).text
        assert client.get(f"/console/pos/pay/{body_code}").status_code == 404


def test_pos_terminal_looks_up_its_units_business_by_plate_signed(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    plate = new_plate()
    code = register_with_plate(api, payer, plate)["payment_code"]
    pos = stack.info["pos"]
    terminal = SignedClient(stack.info["base_url"], pos["device_id"], pos["device_secret"])
    response = terminal.get(f"/api/v1/pos/lookup?q={quote(plate)}")
    assert response.status_code == 200, response.text
    (found,) = response.json()["payables"]
    assert found["payment_code"] == code
    assert [line["item_code"] for line in found["lines"]] == ["GA0101", "GA0105"]
    assert found["attributes"]["plate_no"].startswith("浙A")
    assert "*" in found["attributes"]["plate_no"]
    assert terminal.get("/api/v1/pos/lookup?q=%E6%B5%99Z00000").json()["payables"] == []
