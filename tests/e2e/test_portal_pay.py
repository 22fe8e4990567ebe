"""The payer page in a real browser (headless Debian chromium): it shows the amount and 待缴款,
an aggregate QR by default, and turns to 已缴款 by itself once a wallet has paid."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from publicpay.domain.money import format_yuan
from tests.integration.channel_kit import register
from tests.support.client import SignedClient
from tests.support.polling import wait_until

pytestmark = pytest.mark.e2e


def _wait_until(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    wait_until(condition, timeout_s=timeout_s, interval_s=0.05)


CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # scripts/setup.sh installs Debian's chromium: a missing browser is a failure, not a skip
    assert CHROMIUM.exists(), "Debian chromium is not installed (run scripts/setup.sh)"
    assert shutil.which(str(CHROMIUM)) is not None
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
        )
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.mark.parametrize("choice", ["aggregate", "alipay"])
def test_payer_page_turns_paid_by_itself_after_the_wallet_pays(
    browser_page: Any, stack: Any, api: SignedClient, payer: dict[str, str], choice: str
) -> None:
    payable = register(api, payer)
    code = payable["payment_code"]
    page = browser_page
    page.goto(f"{stack.info['base_url']}/pay/{code}")

    assert page.locator("#status").inner_text() == "待缴款"
    assert format_yuan(payable["amount_fen"]) in page.locator(".amount").inner_text()
    qr = page.locator("#qr")
    qr.wait_for(state="visible")  # the aggregate QR is shown without a click
    # locators and expect(), not wait_for_function: the page's CSP forbids evaluating strings
    page.wait_for_selector("#qr[data-channel='aggregate']")
    _wait_until(lambda: qr.evaluate("img => img.complete && img.naturalWidth > 0"))  # it loads
    if choice != "aggregate":
        page.locator(f"button.channel[data-channel='{choice}']").click()
        page.wait_for_selector(f"#qr[data-channel='{choice}']")
    qr_code = qr.get_attribute("data-qr-code")
    assert qr_code

    paid = httpx.post(
        f"{stack.info['base_url']}/emulator/alipay/scan", json={"qr_code": qr_code}, timeout=15
    )

    assert paid.status_code == 200, paid.text
    expect(page.locator("#status")).to_have_text("已缴款", timeout=10_000)
    assert page.locator("#pay-box").is_hidden()
