"""The cash office in a real browser: a cashier opens a shift at a window, the window's POS takes
cash and a barcode payment, the cashier counts the drawer by denomination and closes ten yuan
short, and the duty supervisor confirms the difference; the deposit slip follows. Screenshots
at 1366×768 and 375×667 under artifacts/e2e/cashoffice."""

from __future__ import annotations

import uuid
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from publicpay.domain.money import format_yuan
from tests.conftest import payable_body
from tests.e2e.screens import DESKTOP, PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.cash_office_kit import new_window
from tests.integration.channel_kit import barcode
from tests.support.client import SignedClient

pytestmark = pytest.mark.e2e
AREA = "cashoffice"
SIZES = (DESKTOP, PHONE)


def _log_in(page: Any, stack: Any, username: str) -> None:
    user = next(u for u in stack.info["users"] if u["username"] == username)
    page.goto(f"{stack.info['base_url']}/console")
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    page.fill("input[name=code]", pyotp.TOTP(user["totp_secret"]).now())
    page.click("button[type=submit]")
    page.wait_for_selector("#who")


def test_a_cashier_closes_short_and_the_supervisor_confirms(
    browser_page: Any,  # noqa: F811
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
) -> None:
    window_id, pos = new_window(stack)
    page = browser_page
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    _log_in(page, stack, "vmo_cashier")
    page.click("nav >> text=收费班次")
    page.select_option("select[name=window_id]", str(window_id))
    page.fill("input[name=opening_float]", "500")
    save_screens(page, AREA, "shift-open", SIZES)
    page.click("#open")
    expect(page.locator("#done")).to_contain_text("已开班")

    cash = api.post("/api/v1/payables", payable_body(payer)).json()
    serial = uuid.uuid4().hex[:16]
    body = {"payment_code": cash["payment_code"], "received_fen": 20_000}
    body |= {"cashier": "vmo_cashier", "client_serial": serial}
    taken = pos.post("/api/v1/pos/cash-payments", body)
    assert taken.status_code == 200, taken.text
    scanned = api.post("/api/v1/payables", payable_body(payer)).json()["payment_code"]
    scan = {"payment_code": scanned, "auth_code": barcode(stack, "wechat")}
    paid = pos.post("/api/v1/pos/barcode-payments", scan)
    assert paid.json()["status"] == "succeeded", paid.text

    page.reload()
    expected = 500_00 + cash["amount_fen"]
    expect(page.locator("#expected")).to_have_text(format_yuan(expected))
    counted = expected - 10_00  # one ten-yuan note short
    page.fill("input[name=d10000]", str(counted // 10_000))
    page.fill("input[name=d1000]", str(counted % 10_000 // 1_000))
    page.fill("input[name=d100]", str(counted % 1_000 // 100))
    assert counted % 100 == 0
    expect(page.locator("#difference")).to_have_text("短款 ¥10.00")
    page.fill("input[name=note]", "找零时多找一张10元")
    save_screens(page, AREA, "shift-close", SIZES)
    page.click("#close")
    expect(page.locator("#status")).to_have_text("待主管确认")
    expect(page.locator("#difference")).to_have_text("短款 ¥10.00")
    save_screens(page, AREA, "shift-awaiting", SIZES)
    closed_url = page.url
    page.click("button:has-text('退出')")

    _log_in(page, stack, "vmo_supervisor")
    page.click("nav >> text=收费班次")
    expect(page.locator("#queue")).to_contain_text("vmo_cashier")
    save_screens(page, AREA, "supervisor-queue", SIZES)
    shift_id = closed_url.split("?")[0].rsplit("/", 1)[-1]  # the shift the cashier closed
    page.click(f"#queue a[href='/console/shifts/{shift_id}']")
    page.fill("#confirm-box input[name=note]", "收费员已说明，差额由本人补足")
    save_screens(page, AREA, "supervisor-confirm", SIZES)
    page.click("#confirm")
    expect(page.locator("#done")).to_contain_text("已确认结班差异")
    expect(page.locator("#status")).to_have_text("已结班")
    expect(page.locator("#deposit-status")).to_have_text("在途")
    save_screens(page, AREA, "shift-confirmed", SIZES)
    slip = page.request.get(stack.info["base_url"] + page.locator("#slip").get_attribute("href"))
    assert slip.body().startswith(b"%PDF")
    page.click("text=← 收费班次")
    expect(page.locator("#report")).to_contain_text("班次报表")
    save_screens(page, AREA, "report", SIZES)
    page.click("button:has-text('退出')")
