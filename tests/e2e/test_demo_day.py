"""The demo day of issue 12's Done-when, in a real browser (headless Debian chromium), on a demo
of its own: after the demo's day of payments (one with its notification lost, one paid twice,
one refunded) a finance user sees the day reconciled for every channel but the lost one,
resolves its exception (the payment is recovered, its receipt and webhook follow), a second
person reviews, the day turns green; clearing runs, the voucher downloads, the emulated
treasury confirms it and `publicpay check` passes. Screenshots at 1366×768 and 1920×1080 under
artifacts/e2e/demo-day."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from publicpay.adapters.db.events import events
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.reconciliation.tables import recon_exceptions
from publicpay.demo.activity import LOST_CASE, TWICE_CASE, seed_activity
from publicpay.demo.stack import Stack, build_stack
from publicpay.domain.reconciliation import CHANNEL_SOURCES
from publicpay.jobs.worker import run_once
from publicpay.settings import Mode, Settings
from tests.conftest import UNTHROTTLED
from tests.e2e.screens import DESKTOP, save_screens
from tests.e2e.test_portal_pay import browser_page  # noqa: F401  (the shared browser fixture)
from tests.e2e.test_refunds import _log_in, _log_out
from tests.integration.console_kit import make_user
from tests.integration.recon_kit import today
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.e2e
AREA = "demo-day"
WIDE = (1920, 1080)
SIZES = (DESKTOP, WIDE)
ACCOUNT = "33050161000000000009"


@pytest.fixture(scope="module")
def demo(new_database_url: Any) -> Iterator[Stack]:
    """A demo of its own, seeded as `publicpay demo` seeds it (its day of payments)."""
    port = free_port()
    settings = Settings(
        mode=Mode.TEST,
        database_url=new_database_url(),
        public_base_url=f"http://127.0.0.1:{port}",
        recovery_after_s=3600,  # the lost notification waits for finance, not for the worker
        collection_account_number=ACCOUNT,
        login_failures_per_address=10_000,
        **UNTHROTTLED,
    )
    built = build_stack(settings, emulator_time_scale=0.001)
    with serve(built.app, port=port):
        seed_activity(built.info, built.container)
        yield built
    built.close()


def _biz_no(stack: Stack, case_no: int) -> str:
    unit = stack.info["units"][0 if case_no == 900 else 1]
    return f"DEMO-{unit['code']}-{case_no:04d}"


def _payable(stack: Stack, biz_no: str) -> Any:
    with stack.container.engines.read.connect() as conn:
        return conn.execute(select(payables).where(payables.c.biz_no == biz_no)).first()


def _lost_exception(stack: Stack) -> Any:
    stmt = select(recon_exceptions).where(
        recon_exceptions.c.source == "alipay",
        recon_exceptions.c.match_class == "channel_only",
        recon_exceptions.c.business_day == today(),
    )
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt))


def _boxes(page: Any) -> dict[str, str]:
    day = today().isoformat()
    found = {}
    for source in CHANNEL_SOURCES:
        box = page.locator(f'a.day-box[data-source="{source.value}"][data-day="{day}"]')
        found[source.value] = str(box.get_attribute("class")).replace("day-box ", "")
    return found


def test_the_demo_day_is_reconciled_worked_cleared_and_checked(
    browser_page: Any,  # noqa: F811
    demo: Stack,
) -> None:
    base, day = demo.info["base_url"], today().isoformat()
    assert LOST_CASE.pay_with is None
    assert TWICE_CASE.pay_with is None
    lost = _payable(demo, _biz_no(demo, 900))
    assert lost.status == "unpaid"  # its notification was lost
    twice = _payable(demo, _biz_no(demo, 903))
    assert twice.status == "paid"
    [item] = _lost_exception(demo)
    page = browser_page
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})

    finance = make_user(demo, "finance_admin")
    _log_in(page, base, finance)
    page.goto(f"{base}/console/reconciliation")
    boxes = _boxes(page)
    assert boxes["alipay"] == "day-exceptions", boxes
    for channel in ("wechat", "unionpay"):
        assert boxes[channel] == "day-reconciled", boxes
    save_screens(page, AREA, "1-workbench", SIZES)

    page.click(f'a.day-box[data-source="alipay"][data-day="{day}"]')
    expect(page.locator(f'#lines tr[data-order="{item.order_no}"]')).to_contain_text("长款")
    expect(page.locator('#lines tr[data-class="duplicate"]')).to_have_count(1)  # paid twice
    save_screens(page, AREA, "2-alipay-day", SIZES)

    page.goto(f"{base}/console/reconciliation/exceptions/{item.id}")
    page.check("#resolve input[value=recover]")
    page.fill("#resolve input[name=reason]", "渠道查询确认已付款，支付通知丢失，补单")
    save_screens(page, AREA, "3-exception", SIZES)
    page.click("#resolve button[type=submit]")
    expect(page.locator("#done")).to_contain_text("补单")
    _log_out(page)

    _log_in(page, base, make_user(demo, "finance_reviewer"))
    page.goto(f"{base}/console/reconciliation/exceptions/{item.id}")
    page.click("#review button[value=approve]")
    expect(page.locator("#status")).to_contain_text("已办结")
    save_screens(page, AREA, "4-reviewed", SIZES)
    _log_out(page)

    # the recovered payment: paid, its receipt issued and its webhook queued by the worker
    run_once(demo.container)
    recovered = _payable(demo, _biz_no(demo, 900))
    assert recovered.status == "paid"
    body = httpx.get(f"{base}/api/v1/pay/{recovered.payment_code}", timeout=10).json()
    assert body["status"] == "paid"
    with demo.container.engines.read.connect() as conn:
        paid_events = conn.execute(
            select(events.c.data).where(events.c.type == "payable.paid")
        ).all()
    assert any(e.data["payment_code"] == recovered.payment_code for e in paid_events)

    # back as finance (a colleague: one TOTP code is never accepted twice)
    _log_in(page, base, make_user(demo, "finance_admin"))
    page.goto(f"{base}/console/reconciliation")
    boxes = _boxes(page)
    for state in boxes.values():  # every channel with a statement is green
        assert state in ("day-reconciled", "day-none", "day-missing"), boxes
    for channel in ("alipay", "wechat", "unionpay"):
        assert boxes[channel] == "day-reconciled", boxes
    figures = page.locator(f'a.day-box[data-source="alipay"][data-day="{day}"] strong')
    matched, lines = (int(n) for n in figures.inner_text().split("/"))
    assert matched == lines - 1  # every line but the second payment (refunded by the platform)
    save_screens(page, AREA, "5-green", SIZES)

    page.goto(f"{base}/console/clearing")
    page.fill("#run-clearing input[name=day]", day)
    page.click("#run-clearing button[type=submit]")
    expect(page.locator("#status")).to_contain_text("国库已确认入库")
    save_screens(page, AREA, "6-cleared", SIZES)
    with page.expect_download() as download:
        page.click("#voucher")
    voucher = download.value.path().read_text(encoding="utf-8")
    assert 'VtCode="5408"' in voucher
    assert recovered.payment_code in voucher  # the recovered payment is cleared with its day

    env = {**os.environ, "PUBLICPAY_DATABASE_URL": demo.info["database_url"]}
    env["PUBLICPAY_MODE"] = "test"
    check = subprocess.run(
        [sys.executable, "-m", "publicpay.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
