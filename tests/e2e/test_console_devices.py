"""The devices screen (设备管理) in a real browser: a finance admin sees the kiosks with their
status (the partner bank's kiosk low on paper), registers a new kiosk and gets its secret once;
screenshots at 1366×768 and 375×667."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.screens import DESKTOP, PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.console_kit import make_user

pytestmark = pytest.mark.e2e


def test_a_finance_admin_sees_the_devices_and_registers_a_kiosk(
    browser_page: Any,  # noqa: F811
    stack: Any,
) -> None:
    admin = make_user(stack, "finance_admin")
    page = browser_page
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    page.goto(f"{stack.info['base_url']}/console/login")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", admin.password)
    page.fill("input[name=code]", admin.code())
    page.click("button[type=submit]")
    page.wait_for_selector("#who")

    page.click("text=设备管理")
    expect(page.locator("#devices")).to_be_visible()
    expect(page.locator("tr[data-app-id='kiosk_gs_001']")).to_be_visible()
    expect(page.locator("tr[data-app-id='kiosk_icbc_gs_01'] td.health")).not_to_be_empty()
    save_screens(page, "devices", "devices", (DESKTOP, PHONE))

    app_id = f"kiosk_e2e_{uuid.uuid4().hex[:6]}"
    page.select_option("select[name=kind]", "kiosk")
    page.fill("input[name=app_id]", app_id)
    page.fill("input[name=name]", "米市巷街道自助缴费机2号")
    page.select_option("select[name=site_id]", label="米市巷街道便民服务中心（便民服务点）")
    page.click("#register-device button[type=submit]")
    expect(page.locator("#secret-value")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.locator(f"tr[data-app-id='{app_id}']")).to_contain_text("未上线")
    save_screens(page, "devices", "registered", (DESKTOP, PHONE))
