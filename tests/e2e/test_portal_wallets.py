"""Wallet buttons on a phone in a real browser (headless Debian chromium): Alipay WAP from
Alipay's in-app browser, WeChat JSAPI inside WeChat through the 公众号's OAuth redirect (the
emulated WeChat client's JS bridge injected into every page, as WeChat does). Screenshots at
375×667, 1366×768 and 1080×1920 in artifacts/e2e/portal/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from publicpay.emulators.wallet import ALIPAY_USER_AGENT, WECHAT_USER_AGENT
from tests.e2e.screens import DESKTOP, KIOSK, PHONE, save_screens
from tests.e2e.test_portal_pay import ARGS, CHROMIUM
from tests.integration.channel_kit import register
from tests.support.client import SignedClient

pytestmark = pytest.mark.e2e
SIZES = (PHONE, DESKTOP, KIOSK)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert CHROMIUM.exists(), "Debian chromium is not installed (run scripts/setup.sh)"
    assert shutil.which(str(CHROMIUM)) is not None
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def _phone(browser: Any, user_agent: str) -> Any:
    return browser.new_context(
        user_agent=user_agent,
        viewport={"width": PHONE[0], "height": PHONE[1]},
        is_mobile=True,
        has_touch=True,
    )


def test_alipay_wap_from_alipays_browser_pays_and_returns_to_the_page(
    browser: Any, stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    context = _phone(browser, ALIPAY_USER_AGENT)
    try:
        page = context.new_page()
        page.goto(f"{stack.info['base_url']}/pay/{code}")
        expect(page.locator("#wallets")).to_be_visible()
        page.wait_for_selector("#qr[data-channel='aggregate']")  # the QR stays, below
        save_screens(page, "portal", "wallet-alipay-page", SIZES)
        page.locator("button.wallet-alipay-wap").click()
        expect(page.locator("#alipay-cashier")).to_be_visible()
        save_screens(page, "portal", "wallet-alipay-cashier", SIZES)
        page.locator("#alipay-confirm").click()
        page.wait_for_url(f"{stack.info['base_url']}/pay/{code}?*")
        expect(page.locator("#status")).to_have_text("已缴款", timeout=10_000)
        save_screens(page, "portal", "wallet-alipay-returned", SIZES)
    finally:
        context.close()


def test_wechat_jsapi_inside_wechat_through_the_oauth_redirect(
    browser: Any, stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)["payment_code"]
    bridge = httpx.get(f"{base}/emulator/wechat/jsbridge.js").text
    context = _phone(browser, WECHAT_USER_AGENT)
    context.add_init_script(bridge)  # WeChat's browser injects WeixinJSBridge into every page
    try:
        page = context.new_page()
        page.goto(f"{base}/pay/{code}")
        expect(page.locator("button.wallet-wechat-jsapi")).to_be_visible()
        expect(page.locator("button.wallet-alipay-wap")).to_have_count(0)
        save_screens(page, "portal", "wallet-wechat-page", SIZES)
        page.locator("button.wallet-wechat-jsapi").click()
        expect(page.locator("#wx-jsapi-sheet")).to_be_visible(timeout=10_000)
        assert "/pay/wechat/oauth?code=" in page.url  # came back from the OAuth redirect
        save_screens(page, "portal", "wallet-wechat-sheet", SIZES)
        page.locator("#wx-jsapi-pay").click()
        page.wait_for_url(f"{base}/pay/{code}")
        expect(page.locator("#status")).to_have_text("已缴款", timeout=10_000)
        save_screens(page, "portal", "wallet-wechat-paid", SIZES)
    finally:
        context.close()
