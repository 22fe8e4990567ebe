"""The finance admin sets a unit up entirely in the console, in a real browser (headless Debian
chromium): a unit (its credential shown once), a site with a window, a fee item with its split
and standard, the unit's authorisation, and the unit's admin account; that admin logs in with
the one-time password and a TOTP code, must change the password, and finds another unit's page
answering 未找到. Screenshots at 1366×768 (the login also at 375×667) under artifacts/e2e/admin."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from publicpay.demo.seed import credit_code
from publicpay.domain.time import business_date
from tests.e2e.screens import DESKTOP, PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.console_kit import make_user

pytestmark = pytest.mark.e2e
AREA = "admin"


def _log_in(page: Any, base: str, username: str, password: str, secret: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")


def test_a_finance_admin_sets_up_a_unit_and_its_admin_logs_in_with_totp(
    browser_page: Any,  # noqa: F811
    stack: Any,
) -> None:
    base = stack.info["base_url"]
    page = browser_page
    admin = make_user(stack, "finance_admin")
    suffix = f"{secrets.randbelow(10**6):06d}"
    unit_code, item_code = f"56{suffix}", f"EA{suffix}"
    today = business_date(stack.container.clock.now()).isoformat()

    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"{base}/console/login")
    save_screens(page, AREA, "login")
    _log_in(page, base, admin.username, admin.password, admin.secret)
    page.wait_for_selector("#who")
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    save_screens(page, AREA, "home", (DESKTOP,))

    # a unit: its credential is shown once
    page.goto(f"{base}/console/units")
    page.fill("#new-unit input[name=code]", unit_code)
    page.fill("#new-unit input[name=name]", f"杭州市拱墅区测试执收单位{suffix}")
    page.fill("#new-unit input[name=credit_code]", credit_code("11330105", f"{suffix}56"))
    page.click("#new-unit button[type=submit]")
    expect(page.locator("#secret-value")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    save_screens(page, AREA, "unit-created", (DESKTOP,))
    page.click("#created-link")
    page.wait_for_selector("#unit-name")
    unit_url = page.url

    # a site with a numbered window
    page.fill("#new-site input[name=code]", f"H{suffix}")
    page.fill("#new-site input[name=name]", "测试单位办事大厅")
    page.fill("#new-site input[name=address]", "拱墅区测试路8号")
    page.click("#new-site button[type=submit]")
    expect(page.locator("#done")).to_contain_text("已新增网点")
    page.fill(f"[data-site='H{suffix}'] form.new-window input[name=number]", "01")
    page.fill(f"[data-site='H{suffix}'] form.new-window input[name=name]", "综合受理")
    page.click(f"[data-site='H{suffix}'] form.new-window button[type=submit]")
    expect(page.locator(f"[data-site='H{suffix}'] tr[data-window='01']")).to_contain_text(
        "综合受理"
    )

    # a fee item with its split and standard
    page.goto(f"{base}/console/catalogue")
    form = page.locator("#new-item")
    form.locator("input[name=code]").fill(item_code)
    form.locator("input[name=name]").fill("测试证照工本费")
    form.locator("input[name=budget_subject]").fill("1030401")
    form.locator("input[name=unit_of_measure]").fill("本")
    form.locator("input[name=legal_basis]").fill("《测试证照管理办法》")
    form.locator("input[name=w_province]").fill("3")
    form.locator("input[name=w_county]").fill("7")
    form.locator("input[name=amount]").fill("15.00")
    form.locator("input[name=valid_from]").fill(today)
    form.locator("input[name=basis]").fill("浙价费〔2026〕8号")
    save_screens(page, AREA, "catalogue-new-item", (DESKTOP,))
    form.locator("button[type=submit]").click()
    expect(page.locator("#done")).to_contain_text("已保存收费项目")
    expect(page.locator("#split")).to_contain_text("省 权重 3")
    save_screens(page, AREA, "catalogue-item", (DESKTOP,))

    # the unit's authorisation
    page.goto(unit_url)
    page.select_option("#grant-form select[name=item_code]", item_code)
    page.click("#grant-form button[type=submit]")
    expect(page.locator(f"#grants [data-item='{item_code}']")).to_be_visible()
    save_screens(page, AREA, "unit", (DESKTOP,))

    # the unit's admin account, its one-time password and TOTP enrolment shown once
    unit_id = unit_url.rsplit("/", 1)[-1]
    username = f"ua_{suffix}"
    page.goto(f"{base}/console/users")
    page.fill("#new-user input[name=username]", username)
    page.select_option("#new-user select[name=role]", "unit_admin")
    page.select_option("#new-user select[name=unit_id]", unit_id)
    page.click("#new-user button[type=submit]")
    expect(page.locator("#issued-username")).to_have_text(username)
    expect(page.locator(".qr svg")).to_be_visible()
    password = page.locator("#issued-password").inner_text()
    secret = page.locator("#issued-totp").inner_text()
    save_screens(page, AREA, "user-created", (DESKTOP,))

    # that admin logs in with TOTP and must change the one-time password
    page.click("#who ~ button")  # 退出
    page.wait_for_url(re.compile(r"/console/login"))
    _log_in(page, base, username, password, secret)
    page.wait_for_url(re.compile(r"/console/password$"))
    expect(page.locator("#forced")).to_be_visible()
    save_screens(page, AREA, "password-forced", (DESKTOP,))
    page.fill("input[name=current]", password)
    page.fill("input[name=password]", "unit-admin-own-pass-1")
    page.fill("input[name=repeat]", "unit-admin-own-pass-1")
    page.click("form.stack button[type=submit]")
    expect(page.locator("#done")).to_contain_text("新密码已生效")
    page.goto(f"{base}/console")
    expect(page.locator("#who")).to_contain_text("执收单位管理员")

    # another unit's page answers 未找到
    other = stack.info["units"][0]["code"]
    with stack.container.read_uow() as uow:
        other_unit = uow.units.by_code(other)
    assert other_unit is not None
    response = page.goto(f"{base}/console/units/{other_unit.id}")
    assert response is not None
    assert response.status == 404
    expect(page.locator("#error")).to_contain_text("不在您的管辖范围内")
    save_screens(page, AREA, "out-of-scope", (DESKTOP,))


def test_an_auditor_reads_the_log_and_verifies_the_chain(
    browser_page: Any,  # noqa: F811
    stack: Any,
) -> None:
    base = stack.info["base_url"]
    page = browser_page
    auditor = make_user(stack, "auditor")
    page.context.clear_cookies()
    _log_in(page, base, auditor.username, auditor.password, auditor.secret)
    page.wait_for_selector("#who")
    page.goto(f"{base}/console/audit")
    page.click("#verify-form button[type=submit]")
    expect(page.locator("#chain-result")).to_contain_text("哈希链完整")
    save_screens(page, AREA, "audit", (DESKTOP,))
