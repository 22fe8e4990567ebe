"""Refunds in a real browser (headless Debian chromium): a unit admin asks for a partial refund, a
finance reviewer approves it on the approval screen, a refund above the threshold needs a second
reviewer, and the payer's page shows the refund with its red-letter receipt. Screenshots of every
refund page (1366×768; the payer page also at 375×667) under artifacts/e2e/refunds."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.screens import DESKTOP, PHONE, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.integration.console_kit import ConsoleUser, make_user
from tests.integration.receipt_kit import drain, pay, register
from tests.integration.test_console_refunds import _school

pytestmark = pytest.mark.e2e
AREA = "refunds"


def _log_in(page: Any, base: str, user: ConsoleUser) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", user.password)
    page.fill("input[name=code]", user.code())
    page.click("button[type=submit]")
    page.wait_for_selector("#who")


def _log_out(page: Any) -> None:
    page.click("form.who button[type=submit]")
    page.wait_for_selector("input[name=username]")


def _ask(page: Any, base: str, code: str, yuan: str, reason: str) -> str:
    page.goto(f"{base}/console/refunds")
    page.fill("#find-payable input[name=code]", code)
    page.click("#find-payable button[type=submit]")
    page.wait_for_selector("#request")
    page.fill("#request input[name=amount]", yuan)
    page.fill("#request input[name=reason]", reason)
    return page.url


def _approve(page: Any, base: str, refund_no: str, note: str) -> None:
    page.goto(f"{base}/console/refunds/{refund_no}")
    page.fill("#approve input[name=note]", note)
    page.click("#approve button[type=submit]")
    page.wait_for_selector("#done")


def test_a_partial_refund_is_asked_approved_twice_over_the_threshold_and_shown_to_the_payer(
    browser_page: Any,  # noqa: F811
    stack: Any,
    payer: dict[str, str],
) -> None:
    base = stack.info["base_url"]
    unit_id, school_api = _school(stack)
    small, big = register(school_api, payer, "JY0101"), register(school_api, payer, "JY0101")
    for code in (small, big):
        pay(stack, code)
    drain(stack)  # the receipts of both payments
    paid = school_api.get(f"/api/v1/payables/{big}").json()["paid_fen"]
    page = browser_page
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})

    _log_in(page, base, make_user(stack, "unit_admin", unit_id=unit_id))
    _ask(page, base, small, "300", "学生退宿，按月退还住宿费")
    save_screens(page, AREA, "request", (DESKTOP,))
    page.click("#request button[type=submit]")
    expect(page.locator("#status")).to_have_text("待审批")
    small_refund = page.url.split("/console/refunds/")[1].split("?")[0]
    _ask(page, base, big, f"{(paid - 5_000) / 100:.2f}", "学生转学，退还大部分学费")
    page.click("#request button[type=submit]")
    expect(page.locator("#status")).to_have_text("待审批")
    big_refund = page.url.split("/console/refunds/")[1].split("?")[0]
    _log_out(page)

    first, second = make_user(stack, "finance_reviewer"), make_user(stack, "finance_reviewer")
    _log_in(page, base, first)
    page.click("nav >> text=退款")
    expect(page.locator(f"tr[data-refund-no='{small_refund}']")).to_be_visible()
    save_screens(page, AREA, "queue", (DESKTOP,))
    page.goto(f"{base}/console/refunds/{small_refund}")
    for table in ("#lines", "#payments", "#earlier", "#receipts"):
        expect(page.locator(table)).to_be_visible()
    save_screens(page, AREA, "approval", (DESKTOP,))
    _approve(page, base, small_refund, "核对无误，同意退款")
    expect(page.locator("#status")).to_have_text("已批准，待退款")
    _approve(page, base, big_refund, "初审同意")
    expect(page.locator("#status")).to_have_text("待审批")
    expect(page.locator("#maker-checker")).to_contain_text("另一位审核人复核")
    save_screens(page, AREA, "second-approval-needed", (DESKTOP,))
    _log_out(page)

    _log_in(page, base, second)
    _approve(page, base, big_refund, "复核同意")
    expect(page.locator("#status")).to_have_text("已批准，待退款")
    _log_out(page)

    drain(stack, rounds=3)  # the channel refunds, then the red and replacement receipts
    _log_in(page, base, make_user(stack, "auditor"))  # read-only: sees, cannot decide
    page.goto(f"{base}/console/refunds/{small_refund}")
    expect(page.locator("#status")).to_have_text("退款成功")
    expect(page.locator("#receipts")).to_contain_text("红字票据")
    expect(page.locator("#approve")).to_have_count(0)
    save_screens(page, AREA, "refunded", (DESKTOP,))
    _log_out(page)

    page.goto(f"{base}/pay/{small}")
    refund = page.locator(f"li.refund[data-refund-no='{small_refund}']")
    expect(refund).to_contain_text("已退回")
    expect(refund.locator(".red-receipt")).to_contain_text("红字票据")
    expect(refund.locator(".replacement-receipt")).to_contain_text("¥800.00")  # 1,100 − 300
    save_screens(page, AREA, "payer-page", (PHONE, DESKTOP))
    assert school_api.get(f"/api/v1/refunds/{big_refund}").json()["status"] == "succeeded"
