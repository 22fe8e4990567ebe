"""监管预警 over HTTP: the detectors find orders stuck paying and payments without a receipt,
the alert links its rows, is acknowledged with a note (audited), resolves by itself once the
cause is gone; scoped (another unit's admin neither sees nor acknowledges it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from publicpay.adapters.db.alerts import alerts, scan
from publicpay.adapters.db.queries.alerts import DETECTORS, registered
from publicpay.adapters.db.units import units
from tests.integration.console_kit import audit_rows, csrf_of, logged_in, make_user
from tests.integration.receipt_kit import drain, pay, register
from tests.support.client import SignedClient


def _scan(stack: Any, later: timedelta) -> None:
    c = stack.container
    scan(c.engines.write, registered(), c.clock.now() + later, c.settings.region_code)


def _alert(stack: Any, kind: str, key: str) -> Any:
    stmt = select(alerts).where(alerts.c.kind == kind, alerts.c.key == key)
    with stack.container.engines.read.connect() as conn:
        return conn.execute(stmt).first()


def _school(stack: Any) -> int:
    code = stack.info["units"][2]["code"]
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(select(units.c.id).where(units.c.code == code)).scalar_one())


def test_detectors_are_registered_for_what_exists() -> None:
    assert {
        "orders_stuck_paying",
        "paid_without_receipt",
        "refund_rate_outlier",
        "receipt_stock_low",
        "device_offline",
        "recon_exception_open",
    } <= set(DETECTORS)


def test_a_stuck_order_and_a_missing_receipt_raise_alerts_that_resolve_themselves(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    stuck = register(api, payer)
    order = httpx.post(f"{base_url}/api/v1/pay/{stuck}/orders", json={"channel": "alipay"})
    assert order.status_code == 201, order.text
    paid = register(api, payer)
    pay(stack, paid)
    _scan(stack, timedelta(hours=3))
    stuck_alert = _alert(stack, "orders_stuck_paying", order.json()["order_no"])
    receipt_alert = _alert(stack, "paid_without_receipt", paid)
    assert stuck_alert.status == "open"
    assert receipt_alert.status == "open"
    assert receipt_alert.link == f"/console/payables/{paid}"

    drain(stack)  # the receipt is issued: the cause is gone
    _scan(stack, timedelta(hours=3))
    assert _alert(stack, "paid_without_receipt", paid).status == "resolved"


def test_a_reviewer_acknowledges_an_alert_with_a_note_and_another_unit_cannot(
    stack: Any, base_url: str, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    order = httpx.post(f"{base_url}/api/v1/pay/{code}/orders", json={"channel": "wechat"})
    order_no = order.json()["order_no"]
    _scan(stack, timedelta(hours=3))
    alert = _alert(stack, "orders_stuck_paying", order_no)

    outsider = make_user(stack, "unit_admin", unit_id=_school(stack))
    with logged_in(base_url, outsider) as client:
        page = client.get("/console/alerts")
        refused = client.post(
            f"/console/alerts/{alert.id}/acknowledge",
            data={"note": "不是我的", "csrf": csrf_of(page.text)},
        )
    assert order_no not in page.text
    assert refused.status_code == 404

    reviewer = make_user(stack, "finance_reviewer")
    with logged_in(base_url, reviewer) as client:
        page = client.get("/console/alerts")
        assert order_no in page.text
        token = csrf_of(page.text)
        empty = client.post(
            f"/console/alerts/{alert.id}/acknowledge", data={"note": " ", "csrf": token}
        )
        forged = client.post(
            f"/console/alerts/{alert.id}/acknowledge", data={"note": "x", "csrf": "forged"}
        )
        done = client.post(
            f"/console/alerts/{alert.id}/acknowledge",
            data={"note": "已联系渠道核实，待其关单", "csrf": token},
        )
        phone = client.get("/console/m")
    assert empty.status_code == 422
    assert "处理说明" in empty.text
    assert forged.status_code == 403
    assert done.status_code == 303
    after = _alert(stack, "orders_stuck_paying", order_no)
    assert after.status == "acknowledged"
    assert after.note == "已联系渠道核实，待其关单"
    assert audit_rows(stack, "alert.acknowledge", f"alert:{alert.id}")
    assert 'id="m-alerts"' in phone.text


def test_bad_alert_queries_are_refused(stack: Any, base_url: str) -> None:
    reviewer = make_user(stack, "finance_reviewer")
    with logged_in(base_url, reviewer) as client:
        assert client.get("/console/alerts", params={"kind": "bogus"}).status_code == 422
        assert client.get("/console/alerts", params={"show": "all' --"}).status_code == 422
