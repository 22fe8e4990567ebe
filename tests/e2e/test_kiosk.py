"""The self-service kiosk in a real browser (headless Debian chromium) with the simulated
card-reader agent: a person's ID card, two payables paid in one payment, both receipts printed;
the idle timeout clearing the screen and the browser's storage; a reprint from the Alipay
payment record's QR, and a printer out of paper. Screenshots at 1080×1920, 1366×768, 375×667."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.demo.seed import citizen_id
from publicpay.emulators.card_agent import SimulatedHardware, create_agent
from tests.conftest import payable_body
from tests.e2e.screens import DESKTOP, KIOSK, PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.receipt_kit import drain
from tests.support.client import SignedClient
from tests.support.db import payable_id
from tests.support.polling import wait_until
from tests.support.servers import serve

pytestmark = pytest.mark.e2e
SIZES = (KIOSK, DESKTOP, PHONE)
AREA = "kiosk"


@pytest.fixture(scope="module")
def hardware() -> SimulatedHardware:
    return SimulatedHardware()


@pytest.fixture(scope="module")
def agent(hardware: SimulatedHardware) -> Iterator[str]:
    with serve(create_agent(hardware)) as url:
        yield url


def _person() -> dict[str, str]:
    return {"name": "周晓梅", "id_no": citizen_id(random.Random())}


def _register(client: SignedClient, person: dict[str, str], item: str) -> str:
    body = payable_body(person, item)
    response = client.post("/api/v1/payables", body)
    assert response.status_code == 201, response.text
    return str(response.json()["payment_code"])


def _enrol(page: Any, stack: Any, agent: str) -> None:
    kiosk = stack.info["kiosk"]
    page.set_viewport_size({"width": KIOSK[0], "height": KIOSK[1]})
    page.goto(f"{stack.info['base_url']}/kiosk/enrol")
    page.fill("input[name=app_id]", kiosk["device_id"])
    page.fill("input[name=secret]", kiosk["device_secret"])
    page.fill("input[name=agent]", agent)
    page.click("button[type=submit]")
    expect(page.locator("#start")).to_be_visible()


def _drain_until(stack: Any, page: Any, selector: str) -> None:
    def ready() -> bool:
        drain(stack)
        return bool(page.locator(selector).is_enabled())

    wait_until(ready, timeout_s=20, interval_s=0.3, message=f"{selector} never enabled")


def test_an_id_card_pays_two_payables_in_one_payment_and_prints_both_receipts(
    browser_page: Any,  # noqa: F811
    stack: Any,
    agent: str,
    hardware: SimulatedHardware,
    api: SignedClient,
    school_api: SignedClient,
) -> None:
    person = _person()
    codes = [_register(api, person, "GA0101"), _register(school_api, person, "JY0101")]
    hardware.card, hardware.paper = {"id_no": person["id_no"], "name": person["name"]}, "ok"
    printed_before = len(hardware.printed)
    page = browser_page
    _enrol(page, stack, agent)
    save_screens(page, AREA, "start", SIZES)

    page.click("#by-card")
    expect(page.locator("#list")).to_be_visible()
    expect(page.locator("#unpaid li")).to_have_count(2)
    expect(page.locator("#payer")).to_have_text("周*梅")
    save_screens(page, AREA, "list", SIZES)

    page.click("#to-pay")  # the aggregate code (聚合码) of one cart, without another tap
    expect(page.locator("#qr-box")).to_be_visible()
    qr_code = page.locator("#qr").get_attribute("data-qr")
    assert qr_code
    assert "/pay/a/" in qr_code
    expect(page.locator("#countdown")).not_to_have_text("--:--")
    save_screens(page, AREA, "pay", SIZES)
    page.click("button.wallet[data-channel='aggregate']")  # a second tap: the same code
    assert page.locator("#qr").get_attribute("data-qr") == qr_code

    paid = httpx.post(f"{stack.info['base_url']}/emulator/alipay/scan", json={"qr_code": qr_code})
    assert paid.status_code == 200, paid.text
    expect(page.locator("#done")).to_be_visible(timeout=15_000)
    _drain_until(stack, page, "#print-all")
    expect(page.locator("#done-receipts li")).to_have_count(2)
    page.click("#print-all")
    expect(page.locator("#done-receipts .printed")).to_have_count(2, timeout=15_000)
    save_screens(page, AREA, "printed", SIZES)

    assert len(hardware.printed) - printed_before == 2
    assert all(p["head"].startswith("%PDF") for p in hardware.printed[printed_before:])
    with stack.container.engines.read.connect() as conn:
        orders = [
            conn.execute(
                select(payment_orders.c.cart_id, payment_orders.c.device_id).where(
                    payment_orders.c.payable_id == payable_id(stack, code)
                )
            ).one()
            for code in codes
        ]
    assert orders[0].cart_id == orders[1].cart_id is not None  # one payment
    assert orders[0].device_id is not None  # taken at the kiosk
    numbers = [r.split("-")[1] for r in page.locator("#done-receipts li").evaluate_all(
        "items => items.map(li => li.dataset.receipt)")]  # fmt: skip
    assert all(int(n) > 90 * 100_000 for n in numbers)  # from the kiosk's own stock (开票点)


def test_the_idle_timeout_returns_to_the_start_and_clears_every_personal_detail(
    browser_page: Any,  # noqa: F811
    stack: Any,
    agent: str,
    hardware: SimulatedHardware,
    api: SignedClient,
) -> None:
    person = _person()
    _register(api, person, "GA0101")
    hardware.card = {"id_no": person["id_no"], "name": person["name"]}
    page = browser_page
    _enrol(page, stack, agent)
    page.goto(f"{stack.info['base_url']}/kiosk?idle=4")
    page.click("#by-card")
    expect(page.locator("#unpaid li")).to_have_count(1)
    assert page.evaluate("() => sessionStorage.length") == 1

    expect(page.locator("#idle-note")).to_be_visible(timeout=10_000)
    save_screens(page, AREA, "idle-warning", (KIOSK,))
    expect(page.locator("#start")).to_be_visible(timeout=10_000)
    assert page.locator("#unpaid li").count() == 0
    assert page.locator("#payer").inner_text() == ""
    assert page.evaluate("() => sessionStorage.length") == 0
    assert "周*梅" not in page.content()


def test_a_receipt_is_reprinted_from_the_alipay_record_and_an_empty_printer_is_told(
    browser_page: Any,  # noqa: F811
    stack: Any,
    agent: str,
    hardware: SimulatedHardware,
    api: SignedClient,
) -> None:
    person = _person()
    code = _register(api, person, "GA0101")
    base = stack.info["base_url"]
    order = httpx.post(f"{base}/api/v1/pay/{code}/orders", json={"channel": "alipay"}).json()
    assert (
        httpx.post(f"{base}/emulator/alipay/scan", json={"qr_code": order["qr_code"]}).status_code
        == 200
    )
    wait_until(lambda: httpx.get(f"{base}/api/v1/pay/{code}").json()["status"] == "paid",
               timeout_s=10, interval_s=0.05)  # fmt: skip
    drain(stack)
    with stack.container.engines.read.connect() as conn:
        trade_no = conn.execute(
            select(payment_orders.c.channel_trade_no).where(
                payment_orders.c.order_no == order["order_no"]
            )
        ).scalar_one()
    page = browser_page
    _enrol(page, stack, agent)

    page.click("#by-record")
    page.fill("#enter-value", f"https://render.alipay.com/p/s/bill?tradeNo={trade_no}")
    page.click("#enter-ok")
    expect(page.locator("#receipts li")).to_have_count(1)
    hardware.paper = "out"
    page.click("#receipts button.print")
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message-text")).to_contain_text("缺纸")
    save_screens(page, AREA, "paper-out", SIZES)

    hardware.paper = "ok"
    page.click("#message-back")
    printed_before = len(hardware.printed)
    page.click("#receipts button.print")
    expect(page.locator("#receipts .printed")).to_have_count(1, timeout=10_000)
    page.click("#receipts button.print")  # again: a reprint, marked and counted
    expect(page.locator("#receipts .printed")).to_contain_text("重打", timeout=10_000)
    save_screens(page, AREA, "reprint", SIZES)
    assert len(hardware.printed) - printed_before == 2
