"""Statistics in a real browser (headless Debian chromium): the demo finance reviewer sees
today's payment in 收入统计, clicks the channel chart to drill down to the payments behind it,
exports the list, and opens the phone view at 375×667. Screenshots under
artifacts/e2e/statistics at 1366×768 and 375×667."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.screens import DESKTOP, PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.receipt_kit import pay, register
from tests.support.client import SignedClient

pytestmark = pytest.mark.e2e
AREA = "statistics"


def _log_in(page: Any, base_url: str, user: dict[str, Any]) -> None:
    page.goto(f"{base_url}/console/login")
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    page.fill("input[name=code]", pyotp.TOTP(user["totp_secret"]).now())
    page.click("button[type=submit]")
    page.wait_for_selector("#who")


def _click_first_slice(page: Any, selector: str) -> None:
    """Click the pie's first (largest) slice: it starts at twelve o'clock, clockwise."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    assert box is not None
    radius = min(box["width"], box["height"]) / 2 * 0.55
    x = box["x"] + box["width"] / 2 + 4
    y = box["y"] + box["height"] * 0.45 - radius
    page.mouse.click(x, y)


def test_a_reviewer_drills_down_from_a_chart_exports_and_uses_the_phone_view(
    browser_page: Any,  # noqa: F811
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
) -> None:
    code = register(api, payer)
    pay(stack, code)
    reviewer = next(u for u in stack.info["users"] if u["role"] == "finance_reviewer")
    base_url = stack.info["base_url"]
    page = browser_page
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    _log_in(page, base_url, reviewer)

    page.goto(f"{base_url}/console/stats")
    expect(page.locator("#chart-channel canvas")).to_have_count(1, timeout=10_000)
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    save_screens(page, AREA, "stats", (DESKTOP, PHONE))

    _click_first_slice(page, "#chart-channel")
    page.wait_for_url("**/console/orders?**", timeout=10_000)
    assert "status=succeeded" in page.url
    assert "channel=" in page.url
    page.fill("input[name=payment_code]", code)
    page.click("#filters button[type=submit]")
    expect(page.locator("#total")).to_have_text("1")
    expect(page.locator("#rows")).to_contain_text(code)
    save_screens(page, AREA, "orders-drilled", (DESKTOP, PHONE))

    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    exported = download_info.value.path().read_bytes().decode("utf-8-sig")
    assert code in exported
    assert exported.splitlines()[0].startswith("订单号,缴款码")

    page.locator("#rows a", has_text=code).first.click()
    page.wait_for_selector("#payment-code")
    expect(page.locator("#history")).to_contain_text("缴款成功")
    save_screens(page, AREA, "payable-detail", (DESKTOP, PHONE))

    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"{base_url}/console/m")
    expect(page.locator("#today-amount")).to_be_visible()
    expect(page.locator("#m-channel")).to_contain_text("支付宝")
    manifest = page.locator("link[rel=manifest]").get_attribute("href")
    assert manifest == "/console/manifest.webmanifest"
    save_screens(page, AREA, "phone", (PHONE,))
    page.locator("#m-channel a", has_text="支付宝").click()
    page.wait_for_url("**/console/orders?**channel=alipay**")
    expect(page.locator("#rows")).to_contain_text(code)
    save_screens(page, AREA, "phone-drilled", (PHONE,))
