"""The finance console in a real browser (headless Debian chromium): the demo finance admin logs
in with password and TOTP code, opens 票据核销, and sees the write-off report of a unit."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)

pytestmark = pytest.mark.e2e


def test_finance_admin_logs_in_and_sees_the_write_off_report(
    browser_page: Any,  # noqa: F811
    stack: Any,
) -> None:
    admin = next(u for u in stack.info["users"] if u["role"] == "finance_admin")
    school = stack.info["units"][2]
    page = browser_page
    page.goto(f"{stack.info['base_url']}/console")

    page.fill("input[name=username]", admin["username"])
    page.fill("input[name=password]", admin["password"])
    page.fill("input[name=code]", pyotp.TOTP(admin["totp_secret"]).now())
    page.click("button[type=submit]")
    page.wait_for_selector("#who")
    assert "财政管理员" in page.locator("#who").inner_text()

    page.click("text=票据核销")
    page.select_option("select[name=unit_id]", label=f"{school['name']}（{school['code']}）")
    page.click("#choose button[type=submit]")
    page.wait_for_selector("#report")

    assert school["name"] in page.locator("#report h2").inner_text()
    assert "票款一致检查" in page.locator("#verdict").inner_text()
    assert page.locator("#xlsx").get_attribute("href").startswith("/console/write-off.xlsx?")
