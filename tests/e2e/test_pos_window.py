"""The window POS in a real browser (headless Debian chromium): a cashier of the vehicle office
logs in, opens a shift at a window with a POS terminal, finds the business by plate, sees the
auto-priced items, takes the payer's scanned 付款码 (typed by the wedge scanner, then Enter), and
in a second journey takes cash with change inside the shift; screenshots at 1366×768 and
375×667."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from publicpay.domain.money import format_yuan
from tests.e2e.screens import DESKTOP, PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.channel_kit import barcode
from tests.integration.console_kit import ConsoleUser
from tests.integration.pos_kit import new_cashier, new_plate, new_terminal, register_with_plate
from tests.support.client import SignedClient

pytestmark = pytest.mark.e2e
SIZES = (DESKTOP, PHONE)


def _log_in_and_open_shift(page: Any, base: str, cashier: ConsoleUser, window_id: int) -> None:
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    page.goto(f"{base}/pos")
    page.fill("input[name=username]", cashier.username)
    page.fill("input[name=password]", cashier.password)
    page.fill("input[name=code]", cashier.code())
    page.click("button[type=submit]")
    page.wait_for_selector("#pos-open")
    page.select_option("#window", value=str(window_id))
    page.fill("#opening-float", "200")
    save_screens(page, "pos", "open-shift", SIZES)
    page.click("#open-shift")
    page.wait_for_selector("#station")


def _find(page: Any, plate: str, code: str) -> None:
    page.fill("#q", plate)
    page.click("#find")
    page.wait_for_selector(f".pos-item[data-code='{code}']")


def test_barcode_payment_for_a_business_found_by_plate_with_auto_priced_items(
    browser_page: Any,  # noqa: F811
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
) -> None:
    base = stack.info["base_url"]
    plate = new_plate()
    payable = register_with_plate(api, payer, plate)
    code = payable["payment_code"]
    window_id, _ = new_terminal(stack)
    page = browser_page
    _log_in_and_open_shift(page, base, new_cashier(stack), window_id)

    _find(page, plate, code)
    item = page.locator(f".pos-item[data-code='{code}']")
    expect(item).to_contain_text("汽车号牌")
    expect(item).to_contain_text(format_yuan(payable["amount_fen"]))
    save_screens(page, "pos", "found-by-plate", SIZES)
    item.locator("a.primary").click()
    page.wait_for_selector("#auth-code")
    save_screens(page, "pos", "pay", SIZES)

    page.locator("#auth-code").fill(barcode(stack, "alipay"))
    page.locator("#auth-code").press("Enter")  # the wedge scanner's Enter
    expect(page.locator("#outcome")).to_have_text("支付成功", timeout=15_000)
    expect(page.locator("#status")).to_have_text("已缴款")
    save_screens(page, "pos", "paid-barcode", SIZES)


def test_cash_payment_inside_a_shift_gives_change(
    browser_page: Any,  # noqa: F811
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
) -> None:
    base = stack.info["base_url"]
    plate = new_plate()
    payable = register_with_plate(api, payer, plate)
    code, due = payable["payment_code"], payable["amount_fen"]
    window_id, _ = new_terminal(stack)
    page = browser_page
    page.context.clear_cookies()
    _log_in_and_open_shift(page, base, new_cashier(stack), window_id)

    _find(page, plate, code)
    page.locator(f".pos-item[data-code='{code}'] a.primary").click()
    page.fill("#received", f"{(due + 10000) / 100:.2f}")
    page.click("#pay-cash")
    expect(page.locator("#outcome")).to_have_text("现金收款成功", timeout=10_000)
    expect(page.locator("#change")).to_have_text(format_yuan(10000))
    save_screens(page, "pos", "paid-cash-change", SIZES)
