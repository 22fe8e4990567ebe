"""我的缴费记录 in a real browser: prove who you are by ID number + the one-time code (read from
the demo sender's log, as the console shows it), see the payables, pay two in one payment from
the portal cart, log out. Screenshots at 375×667, 1366×768 and 1080×1920 in
artifacts/e2e/portal/."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.screens import DESKTOP, KIOSK, PHONE, save_screens
from tests.e2e.test_portal_wallets import browser  # noqa: F401  (the shared browser fixture)
from tests.integration.test_portal_history import new_person, register, sent_code
from tests.support.client import SignedClient

pytestmark = pytest.mark.e2e
SIZES = (PHONE, DESKTOP, KIOSK)


def test_history_by_id_and_one_time_code_then_a_portal_cart(
    browser: Any,  # noqa: F811
    stack: Any,
    api: SignedClient,
) -> None:
    base = stack.info["base_url"]
    person = new_person()
    codes = [register(api, person), register(api, person, "GA0102")]
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]})
    try:
        page = context.new_page()
        page.goto(f"{base}/pay")
        expect(page.locator("#cart-by-codes")).to_be_visible()
        save_screens(page, "portal", "lookup", SIZES)
        page.locator("#history-link").click()
        expect(page.locator("#proof-by-id")).to_be_visible()
        save_screens(page, "portal", "history-proof", SIZES)
        page.locator("#id_no").fill(person["id_no"])
        page.locator("#phone").fill(person["phone"])
        page.locator("#send-code").click()
        expect(page.locator("#code-sent")).to_be_visible()
        page.locator("#code").fill(sent_code(stack, person["phone"]))
        save_screens(page, "portal", "history-code", SIZES)
        page.locator("#verify-submit").click()
        expect(page.locator("#history")).to_be_visible()
        for code in codes:
            expect(page.locator(f"#unpaid li[data-code='{code}']")).to_be_visible()
        assert person["id_no"] not in page.content()
        save_screens(page, "portal", "history-list", SIZES)

        page.locator("#cart-pay").click()
        expect(page.locator("#cart-qr")).to_be_visible()
        save_screens(page, "portal", "history-cart", SIZES)
        qr_code = page.locator("#cart-qr").get_attribute("data-qr-code")
        paid = httpx.post(f"{base}/emulator/wechat/scan", json={"qr_code": qr_code}, timeout=15)
        assert paid.status_code == 200, paid.text
        expect(page.locator("#cart-done")).to_be_visible(timeout=15_000)
        save_screens(page, "portal", "history-cart-paid", SIZES)

        page.goto(f"{base}/pay/history")
        for code in codes:
            expect(page.locator(f"#records li[data-code='{code}']")).to_have_attribute(
                "data-status", "paid"
            )
        save_screens(page, "portal", "history-paid", SIZES)
        page.locator("#logout").click()
        expect(page.locator("#signed-out")).to_be_visible()
        assert codes[0] not in page.content()
    finally:
        context.close()
