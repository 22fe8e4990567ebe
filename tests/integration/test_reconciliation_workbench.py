"""The exception workbench in the console: day boxes, a day's lines and exceptions, resolving
a lost notification by recovering the payment (receipt and webhook follow), a second person's
review, the daily report; refusals change nothing."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from publicpay.adapters.db.units import units
from publicpay.jobs.worker import run_once
from tests.integration.console_kit import csrf_of, logged_in, make_user
from tests.integration.fault_kit import fault
from tests.integration.recon_kit import (
    exceptions_for,
    line_of,
    resolve,
    run_day,
    today,
    uploads_refused,
)
from tests.integration.test_payment_flow import open_order, register, scan, wait_status


def _lost_notification(stack, api, payer) -> tuple[str, str]:
    code = register(api, payer)["payment_code"]
    order = open_order(stack, code)
    fault(stack, "alipay", "lose_notify", order["order_no"])
    assert scan(stack, order["qr_code"]).status_code == 200
    return code, order["order_no"]


def test_a_lost_notification_is_recovered_from_the_workbench_and_reviewed_by_another(
    stack, api, payer, base_url
):
    code, order_no = _lost_notification(stack, api, payer)
    run_day(stack, "alipay")
    [exception] = exceptions_for(stack, order_no)
    day = today().isoformat()
    admin, reviewer = make_user(stack, "finance_admin"), make_user(stack, "finance_reviewer")
    with logged_in(base_url, admin) as client:
        overview = client.get("/console/reconciliation")
        assert overview.status_code == 200
        assert f'data-source="alipay" data-day="{day}"' in overview.text
        assert "day-exceptions" in overview.text
        page = client.get(f"/console/reconciliation/alipay/{day}")
        assert order_no in page.text
        assert "长款" in page.text
        detail = client.get(f"/console/reconciliation/exceptions/{exception.id}")
        token = csrf_of(detail.text)
        no_reason = resolve(client, exception.id, token, "recover", " ")
        assert no_reason.status_code == 422
        assert "原因" in no_reason.text
        assert exceptions_for(stack, order_no)[0].status == "open"
        done = resolve(client, exception.id, token, "recover", "渠道查询已付款，通知丢失，补单")
        assert done.status_code == 303, done.text
        wait_status(stack, code, "paid")
        own = client.post(
            f"/console/reconciliation/exceptions/{exception.id}/review",
            data={"csrf": token, "decision": "approve"},
        )
        assert own.status_code == 403
    assert exceptions_for(stack, order_no)[0].status == "resolved"
    with logged_in(base_url, reviewer) as client:
        detail = client.get(f"/console/reconciliation/exceptions/{exception.id}")
        approved = client.post(
            f"/console/reconciliation/exceptions/{exception.id}/review",
            data={"csrf": csrf_of(detail.text), "decision": "approve"},
        )
        assert approved.status_code == 303
        report = client.get(f"/console/reconciliation/report/{day}?format=csv")
        assert report.status_code == 200
        assert order_no in report.text
    assert exceptions_for(stack, order_no)[0].status == "closed"
    assert line_of(stack, order_no).match_class == "matched"  # reviewed: cleared with its day
    run_once(stack.container)  # the receipt of the recovered payment is issued
    body = httpx.get(f"{stack.info['base_url']}/api/v1/pay/{code}").json()
    assert body["status"] == "paid"
    run_day(stack, "alipay")
    assert line_of(stack, order_no).match_class == "matched"


def test_an_auditor_sees_the_workbench_but_cannot_run_or_resolve(stack, base_url):
    auditor = make_user(stack, "auditor")
    with logged_in(base_url, auditor) as client:
        assert client.get("/console/reconciliation").status_code == 200
        page = client.get(f"/console/reconciliation/alipay/{today().isoformat()}")
        assert page.status_code == 200
        assert 'id="rerun"' not in page.text
        refused = client.post(
            f"/console/reconciliation/alipay/{today().isoformat()}/run",
            data={"csrf": "x"},
        )
        assert refused.status_code == 403


def test_a_unit_admin_cannot_open_the_workbench(stack, base_url):
    with stack.container.engines.read.connect() as conn:
        unit_id = conn.execute(select(units.c.id)).scalars().first()
    admin = make_user(stack, "unit_admin", unit_id=unit_id)
    with logged_in(base_url, admin) as client:
        assert client.get("/console/reconciliation").status_code == 403


def test_a_refused_upload_is_explained_logged_and_stores_nothing(stack, base_url, caplog):
    from publicpay.adapters.db.audit import audit_log
    from publicpay.adapters.db.reconciliation.tables import statements
    from tests.unit.statement_kit import DAY, alipay_zip

    good = alipay_zip(day=DAY)
    files = {
        "another merchant": (alipay_zip(day=DAY, pid="2088999999999999"), "商户"),
        "truncated": (good[: len(good) // 2], "压缩包"),
        "not a bill": ("支付宝账单".encode("gbk"), "不是支付宝业务明细对账单"),
    }
    admin = make_user(stack, "finance_admin")
    target = f"statement:alipay:{DAY.isoformat()}"

    def stored() -> tuple[int, int]:
        with stack.container.engines.read.connect() as conn:
            of_day = select(statements.c.id).where(
                statements.c.source == "alipay", statements.c.business_day == DAY
            )
            audited = select(audit_log.c.id).where(audit_log.c.target == target)
            return len(list(conn.execute(of_day))), len(list(conn.execute(audited)))

    before = stored()
    with logged_in(base_url, admin) as client:
        uploads_refused(
            client, "alipay", DAY.isoformat(), files, ("bill.csv.zip", "application/zip")
        )
    assert stored() == before
    refusals = [r for r in caplog.records if "refused by" in r.getMessage()]
    assert len(refusals) == len(files)
