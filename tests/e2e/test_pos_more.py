"""The window POS's other journeys in a real browser (headless Debian chromium): the payer scans
the aggregate QR shown on the POS (1366×768, the smart POS's 375×667 and a 1080×1920 customer
display) and the page turns paid by itself; a bank card on the terminal (declined, then paid);
a plate not registered yet, asked of the business system and paid. Screenshots in
artifacts/e2e/pos/."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from publicpay.emulators.acquirer import NextCard
from publicpay.emulators.business_system import Record
from tests.e2e.screens import DESKTOP, KIOSK, PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.e2e.test_pos_window import _find, _log_in_and_open_shift
from tests.integration.pos_kit import (
    card_terminal_id,
    new_cashier,
    new_plate,
    new_terminal,
    register_with_plate,
)
from tests.support.client import SignedClient

pytestmark = pytest.mark.e2e
SIZES = (DESKTOP, PHONE)


def _at_pay_page(page: Any, stack: Any, plate: str, code: str) -> str:
    """Logged in with a shift at a new window, on the payable's pay page; the terminal's id."""
    window_id, app_id = new_terminal(stack)
    page.context.clear_cookies()
    _log_in_and_open_shift(page, stack.info["base_url"], new_cashier(stack), window_id)
    _find(page, plate, code)
    page.locator(f".pos-item[data-code='{code}'] a.primary").click()
    page.wait_for_selector("#pay-card")
    return app_id


def test_the_payer_scans_the_qr_on_the_pos_and_the_page_turns_paid(
    browser_page: Any,  # noqa: F811
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
) -> None:
    plate = new_plate()
    code = register_with_plate(api, payer, plate)["payment_code"]
    page = browser_page
    _at_pay_page(page, stack, plate, code)
    save_screens(page, "pos", "pay-methods", SIZES)
    page.click("#pay-qr")
    page.wait_for_selector("#qr svg")
    expect(page.locator("#countdown")).to_contain_text("秒内有效")
    save_screens(page, "pos", "qr-shown", (*SIZES, KIOSK))
    qr = page.locator("#qr").get_attribute("data-qr")
    assert qr
    scanned = httpx.post(f"{stack.info['base_url']}/emulator/alipay/scan", json={"qr_code": qr})
    assert scanned.status_code == 200, scanned.text
    expect(page.locator("#outcome")).to_have_text("支付成功", timeout=15_000)
    expect(page.locator("#status")).to_have_text("已缴款")
    save_screens(page, "pos", "paid-qr", SIZES)


def test_a_declined_card_then_a_card_that_pays(
    browser_page: Any,  # noqa: F811
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
) -> None:
    plate = new_plate()
    code = register_with_plate(api, payer, plate)["payment_code"]
    page = browser_page
    app_id = _at_pay_page(page, stack, plate, code)
    tid = card_terminal_id(stack, app_id)
    stack.acquirer.present(tid, NextCard(result="insufficient_funds"))
    page.click("#pay-card")
    expect(page.locator("#error")).to_contain_text("余额不足", timeout=15_000)
    save_screens(page, "pos", "card-declined", SIZES)
    page.click("#retry")
    stack.acquirer.present(tid, NextCard(entry="insert"))
    page.click("#pay-card")
    expect(page.locator("#outcome")).to_have_text("银行卡支付成功", timeout=15_000)
    expect(page.locator("#card-no")).to_contain_text("*")
    save_screens(page, "pos", "paid-card", SIZES)


def test_a_plate_not_registered_yet_is_asked_of_the_business_system(
    browser_page: Any,  # noqa: F811
    stack: Any,
    payer: dict[str, str],
) -> None:
    plate = new_plate()
    record = {
        "biz_no": "CG" + secrets.token_hex(6).upper(),
        "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"]},
        "items": [{"item_code": "GA0101", "quantity": 1}, {"item_code": "GA0105", "quantity": 1}],
        "attributes": {"plate_no": plate},
    }
    stack.business.add([plate], Record(record))
    window_id, _ = new_terminal(stack)
    page = browser_page
    page.context.clear_cookies()
    _log_in_and_open_shift(page, stack.info["base_url"], new_cashier(stack), window_id)
    page.fill("#q", plate)
    page.click("#find")
    page.wait_for_selector("#not-found")
    save_screens(page, "pos", "not-found-ask", SIZES)
    page.click("#ask")
    page.wait_for_selector("#asked-found")
    expect(page.locator(".pos-item")).to_contain_text("汽车号牌")
    save_screens(page, "pos", "asked-found", SIZES)
