"""The payer portal on a phone in a real browser: pay from the link, watch the page turn paid,
the e-receipt appear, download it; screenshots at 375×667 and 1366×768."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.screens import PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.channel_kit import register
from tests.integration.receipt_kit import drain
from tests.support.client import SignedClient

pytestmark = pytest.mark.e2e


def test_payer_pays_from_the_link_then_downloads_the_receipt(
    browser_page: Any,  # noqa: F811
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
) -> None:
    payable = register(api, payer)
    page = browser_page
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(payable["pay_url"])
    page.wait_for_selector("#qr[data-channel='aggregate']")
    save_screens(page, "portal", "pay-unpaid")
    page.locator("button.channel[data-channel='wechat']").click()
    page.wait_for_selector("#qr[data-channel='wechat']")
    qr_code = page.locator("#qr").get_attribute("data-qr-code")

    paid = httpx.post(
        f"{stack.info['base_url']}/emulator/wechat/scan", json={"qr_code": qr_code}, timeout=15
    )
    assert paid.status_code == 200, paid.text
    expect(page.locator("#status")).to_have_text("已缴款", timeout=10_000)
    drain(stack)  # the worker issues the receipt
    expect(page.locator("#receipt-pdf")).to_be_visible(timeout=10_000)
    save_screens(page, "portal", "pay-paid-receipt")

    with page.expect_download() as download_info:
        page.locator("#receipt-pdf").click()
    download = download_info.value
    pdf = download.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    number = page.locator("#receipt-number").inner_text()
    assert download.suggested_filename.endswith(f"{number}.pdf")

    page.locator("#receipt-verify").click()
    expect(page.locator("body")).to_contain_text("正常", timeout=10_000)
    save_screens(page, "portal", "verify-result")
