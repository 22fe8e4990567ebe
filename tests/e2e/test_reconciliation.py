"""The reconciliation workbench in a real browser (headless Debian chromium): a day with a lost
notification shows red for Alipay; the finance admin drills down to the line, recovers the
payment with a reason, a reviewer approves, and the day turns green; then the day is cleared
and its voucher is offered. Screenshots at 1366×768 under artifacts/e2e/reconciliation."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from publicpay.domain.reconciliation import Source
from publicpay.emulators.bank.statement import Movement, render
from tests.e2e.screens import DESKTOP, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.e2e.test_refunds import _log_in, _log_out
from tests.integration.console_kit import make_user
from tests.integration.fault_kit import fault
from tests.integration.recon_kit import exceptions_for, import_file, run_day, today
from tests.integration.test_payment_flow import open_order, pay_with_alipay, register, scan

pytestmark = pytest.mark.e2e
AREA = "reconciliation"


def test_a_lost_notification_is_worked_in_the_workbench_to_a_green_day(
    browser_page: Any,  # noqa: F811
    stack: Any,
    api: Any,
    payer: dict[str, str],
) -> None:
    base = stack.info["base_url"]
    pay_with_alipay(stack, register(api, payer)["payment_code"])
    lost = open_order(stack, register(api, payer)["payment_code"])
    fault(stack, "alipay", "lose_notify", lost["order_no"])
    assert scan(stack, lost["qr_code"]).status_code == 200
    run_day(stack, "alipay")
    [item] = exceptions_for(stack, lost["order_no"])
    day = today().isoformat()
    page = browser_page
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})

    _log_in(page, base, make_user(stack, "finance_admin"))
    page.goto(f"{base}/console/reconciliation")
    box = page.locator(f'a.day-box[data-source="alipay"][data-day="{day}"]')
    expect(box).to_have_class("day-box day-exceptions")
    save_screens(page, AREA, "workbench", (DESKTOP,))

    box.click()
    expect(page.locator(f'#lines tr[data-order="{lost["order_no"]}"]')).to_contain_text("长款")
    save_screens(page, AREA, "day", (DESKTOP,))

    page.goto(f"{base}/console/reconciliation/exceptions/{item.id}")
    page.fill("#assign input[name=assignee]", "fin_li")
    page.click("#assign button[type=submit]")
    page.wait_for_selector("#done")
    page.check("#resolve input[value=recover]")
    page.fill("#resolve input[name=reason]", "渠道查询确认已付款，通知丢失，补单")
    save_screens(page, AREA, "exception", (DESKTOP,))
    page.click("#resolve button[type=submit]")
    expect(page.locator("#done")).to_contain_text("补单")
    expect(page.locator("#maker-checker")).to_be_visible()
    save_screens(page, AREA, "resolved", (DESKTOP,))
    _log_out(page)

    _log_in(page, base, make_user(stack, "finance_reviewer"))
    page.goto(f"{base}/console/reconciliation/exceptions/{item.id}")
    page.click("#review button[value=approve]")
    expect(page.locator("#status")).to_contain_text("已办结")
    page.goto(f"{base}/console/reconciliation/report/{day}")
    expect(page.locator("#of-day")).to_contain_text(lost["order_no"])
    save_screens(page, AREA, "report", (DESKTOP,))


def test_a_refund_debit_with_no_refund_is_worked_and_the_bank_box_turns_green_at_once(
    browser_page: Any,  # noqa: F811
    stack: Any,
) -> None:
    """The collection account's statement of a past day shows a refund paid by transfer that
    the platform does not know: 状态不符, red; accepted with a reason and reviewed by another,
    the day's box is green on the next look, without running the day again. Screenshots at
    1366×768 and 375×667."""
    base, c = stack.info["base_url"], stack.container
    day = today() - timedelta(days=9)
    reference = f"REFUND:R-E2E-{secrets.token_hex(4)}"
    serial = f"B-E2E-{secrets.token_hex(4)}"
    debit = Movement(serial, f"{day} 10:00:00", "D", 12_300, "王芳", reference)
    account = c.statement_sources().merchant(Source.BANK)
    import_file(stack, "bank", render(account or "33050161000000000099", day, [debit]), day)
    [item] = exceptions_for(stack, serial)
    page = browser_page
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})

    _log_in(page, base, make_user(stack, "finance_admin"))
    page.goto(f"{base}/console/reconciliation?end={day.isoformat()}")
    box = page.locator(f'a.day-box[data-source="bank"][data-day="{day.isoformat()}"]')
    expect(box).to_have_class("day-box day-exceptions")
    box.click()
    expect(page.locator("#lines")).to_contain_text(reference.removeprefix("REFUND:"))
    expect(page.locator("#lines")).to_contain_text("状态不符")
    save_screens(page, AREA, "bank-refund-day")
    page.goto(f"{base}/console/reconciliation/exceptions/{item.id}")
    page.check("#resolve input[value=accept]")
    page.fill("#resolve input[name=reason]", "银行误付，已由银行冲回")
    page.click("#resolve button[type=submit]")
    expect(page.locator("#maker-checker")).to_be_visible()
    _log_out(page)

    _log_in(page, base, make_user(stack, "finance_reviewer"))
    page.goto(f"{base}/console/reconciliation/exceptions/{item.id}")
    page.click("#review button[value=approve]")
    expect(page.locator("#status")).to_contain_text("已办结")
    page.goto(f"{base}/console/reconciliation?end={day.isoformat()}")
    expect(box).to_have_class("day-box day-reconciled")
    expect(box).to_contain_text("1/1")
    save_screens(page, AREA, "bank-box-green")
