"""Editing existing records in a real browser (headless Debian chromium), issue 10: the finance
admin changes a fee item's budget split (a split that does not add up is refused first, with
its reason), renames and closes a unit's window, adds the unit's contact, makes a cashier the
unit's admin and finds its own role refused. Screenshots at 1366×768 under artifacts/e2e/admin
(edit-*.png)."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from publicpay.domain.catalogue import (
    BudgetLevel,
    Category,
    Destination,
    FeeItem,
    Standard,
    StandardKind,
    single_level,
)
from publicpay.domain.units import SiteKind
from tests.e2e.screens import DESKTOP, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.console_kit import make_user
from tests.integration.receipt_kit import new_unit

pytestmark = pytest.mark.e2e
AREA = "admin"


def _item(stack: Any) -> str:
    code = f"ED{secrets.randbelow(10**6):06d}"
    item = FeeItem(
        code=code,
        name="浏览器编辑测试收费",
        category=Category.ADMIN_FEE,
        budget_subject="1030401",
        destination=Destination.TREASURY,
        unit_of_measure="次",
        split=single_level(BudgetLevel.COUNTY),
        standards=(Standard(StandardKind.FIXED, date(2020, 1, 1), amount_fen=1500, basis="测试"),),
        legal_basis="《测试收费管理办法》",
    )
    with stack.container.uow() as uow:
        uow.catalogue.add_item(item)
        uow.commit()
    return code


def _window(stack: Any, unit_id: int) -> str:
    code = f"W{secrets.token_hex(3)}"
    c = stack.container
    with c.uow() as uow:
        site = uow.units.add_site(
            code,
            "测试单位办事大厅",
            SiteKind.SERVICE_HALL,
            "330105",
            unit_id,
            c.clock.now(),
            address="拱墅区测试路9号",
        )
        uow.units.add_window(site, "01", "综合")
        uow.units.add_window(site, "02", "缴费")
        uow.commit()
    return code


def test_a_finance_admin_edits_a_fee_items_split_and_closes_a_units_window(
    browser_page: Any,  # noqa: F811
    stack: Any,
) -> None:
    base = stack.info["base_url"]
    page = browser_page
    admin = make_user(stack, "finance_admin")
    code = _item(stack)
    unit_id, _ = new_unit(stack, stock_size=1)
    site = _window(stack, unit_id)
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", admin.password)
    page.fill("input[name=code]", pyotp.TOTP(admin.secret).now())
    page.click("button[type=submit]")
    page.wait_for_selector("#who")

    # the split: refused when only fixed amounts are left, saved when it adds up
    page.goto(f"{base}/console/catalogue/{code}")
    page.click("#edit-item-link")
    form = page.locator("#edit-item")
    form.locator("input[name=w_county]").fill("")
    form.locator("input[name=f_central]").fill("1.00")
    form.locator("#save-item").click()
    expect(page.locator("#error")).to_contain_text("至少需要一个按比例分成的级次")
    save_screens(page, AREA, "edit-item-refused", (DESKTOP,))
    form = page.locator("#edit-item")
    form.locator("input[name=f_central]").fill("")
    form.locator("input[name=w_province]").fill("3")
    form.locator("input[name=w_county]").fill("7")
    save_screens(page, AREA, "edit-item-split", (DESKTOP,))
    form.locator("#save-item").click()
    expect(page.locator("#done")).to_contain_text("已保存对收费项目的修改")
    expect(page.locator("#split")).to_contain_text("省 权重 3")
    expect(page.locator("#split")).to_contain_text("区县 权重 7")
    save_screens(page, AREA, "edit-item-saved", (DESKTOP,))

    # a unit's window: renamed, then closed
    page.goto(f"{base}/console/units/{unit_id}")
    row = page.locator(f"[data-site='{site}'] tr[data-window='01']")
    row.locator("input[name=name]").fill("综合受理")
    row.locator("form.window-rename button").click()
    expect(page.locator("#done")).to_contain_text("已修改窗口名称")
    row = page.locator(f"[data-site='{site}'] tr[data-window='01']")
    expect(row).to_contain_text("开放")
    row.locator("form.window-toggle button").click()
    expect(page.locator("#done")).to_contain_text("已关闭窗口")
    row = page.locator(f"[data-site='{site}'] tr[data-window='01']")
    expect(row).to_contain_text("已关闭")
    expect(row.locator("input[name=name]")).to_have_value("综合受理")
    save_screens(page, AREA, "edit-unit-window", (DESKTOP,))

    # the unit itself: a contact added on its edit page
    page.click("#edit-unit-link")
    page.fill("#edit-unit input[name=contact]", "张三 0571-88888888")
    save_screens(page, AREA, "edit-unit", (DESKTOP,))
    page.click("#edit-unit button[type=submit]")
    expect(page.locator("#done")).to_contain_text("已保存单位信息")
    expect(page.locator("#unit-contact")).to_have_text("张三 0571-88888888")

    # a cashier of the unit made its unit admin; the admin's own role cannot be changed
    cashier = make_user(stack, "cashier", unit_id=unit_id)
    page.goto(f"{base}/console/users")
    page.click(f"tr[data-username='{cashier.username}'] a[href$='/edit']")
    page.select_option("#edit-user select[name=role]", "unit_admin")
    page.select_option("#edit-user select[name=unit_id]", str(unit_id))
    save_screens(page, AREA, "edit-user-role", (DESKTOP,))
    page.click("#edit-user button[type=submit]")
    expect(page.locator("#done")).to_contain_text("已修改角色与范围")
    expect(page.locator(f"tr[data-username='{cashier.username}']")).to_contain_text(
        "执收单位管理员"
    )
    with stack.container.read_uow() as uow:
        me = uow.users.by_username(admin.username)
    assert me is not None
    refused = page.goto(f"{base}/console/users/{me.id}/edit")
    assert refused is not None
    assert refused.status == 403
    expect(page.locator("#error")).to_contain_text("不能修改自己的角色")
    save_screens(page, AREA, "edit-own-role-refused", (DESKTOP,))
