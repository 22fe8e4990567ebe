"""The payer portal on a phone in a real browser: the payer opens the link of the message pushed
on registration (N3), pays, watches the page turn paid and the e-receipt appear, downloads it
and checks it; screenshots at 375×667 and 1366×768."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from publicpay.jobs.schedule import SCHEDULE
from publicpay.jobs.worker import run_once
from tests.e2e.screens import PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.channel_kit import register
from tests.integration.receipt_kit import drain
from tests.support.client import SignedClient

pytestmark = pytest.mark.e2e
MESSAGES = tuple(t for t in SCHEDULE if t.name == "send_payer_messages")


def pushed_link(stack: Any, code: str) -> str:
    """The link in the registration message the worker sent (the demo sender's log)."""
    run_once(stack.container, MESSAGES)
    with stack.container.read_uow() as uow:
        sent = uow.messages.recent(None, 50)
    (text,) = [m.text for m in sent if m.payment_code == code and m.kind.value == "registered"]
    link = text.rsplit("：", 1)[1]
    assert link == f"{stack.info['base_url']}/pay/{code}"
    return link


def test_payer_pays_from_the_pushed_link_then_downloads_the_receipt(
    browser_page: Any,  # noqa: F811
    stack: Any,
    api: SignedClient,
    payer: dict[str, str],
) -> None:
    payable = register(api, payer)
    link = pushed_link(stack, payable["payment_code"])
    page = browser_page
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(link)
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
