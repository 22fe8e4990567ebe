"""Payer → channel → platform → business system, over real HTTP with the Alipay emulator."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select, update

from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.events import events
from publicpay.adapters.db.payments.tables import discrepancies, inbox, payment_orders
from publicpay.adapters.db.refunds import refunds
from publicpay.adapters.db.sql import Sql
from publicpay.jobs.worker import run_once
from tests.conftest import payable_body
from tests.support.client import SignedClient
from tests.support.db import counts, ledger_for, payable_id
from tests.support.polling import wait_until
from tests.support.webhooks import WebhookReceiver


def open_order(stack: Any, code: str, channel: str = "alipay") -> dict[str, Any]:
    response = httpx.post(
        f"{stack.info['base_url']}/api/v1/pay/{code}/orders", json={"channel": channel}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def scan(stack: Any, qr_code: str, channel: str = "alipay") -> httpx.Response:
    return httpx.post(
        f"{stack.info['base_url']}/emulator/{channel}/scan", json={"qr_code": qr_code}
    )


def wait_status(stack: Any, code: str, status: str, timeout: float = 5.0) -> dict[str, Any]:
    def reached() -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{stack.info['base_url']}/api/v1/pay/{code}").json()
        return body if body["status"] == status else {}

    return wait_until(reached, timeout_s=timeout, interval_s=0.02, message=f"{code} not {status}")


def pay_with_alipay(stack: Any, code: str) -> dict[str, Any]:
    order = open_order(stack, code)
    assert scan(stack, order["qr_code"]).status_code == 200
    wait_status(stack, code, "paid")
    return order


def deliver_until(stack: Any, receiver: WebhookReceiver, needle: bytes) -> list[Any]:
    """Run the worker until the receiver got a webhook containing `needle` (other tests' events
    may be due too, so one batch is not always enough)."""
    for _ in range(50):
        run_once(stack.container)
        got = receiver.wait_for(lambda r: needle in r.body, timeout=0.1)
        if got:
            return got
    return []


def register(api: SignedClient, payer: dict[str, str], item: str = "GA0101") -> dict[str, Any]:
    response = api.post("/api/v1/payables", payable_body(payer, item))
    assert response.status_code == 201
    return dict(response.json())


def notify_form(stack: Any, order_no: str, amount: str, **override: str) -> bytes:
    """An Alipay async notification signed with the (emulated) Alipay key."""
    params = {
        "notify_time": "2026-11-22 10:00:00",
        "notify_type": "trade_status_sync",
        "notify_id": f"forged{order_no}",
        "app_id": "2021000000000001",
        "seller_id": stack.alipay.pid("2021000000000001"),  # the merchant the account expects
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": f"T{order_no}",
        "out_trade_no": order_no,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": amount,
        "gmt_payment": "2026-11-22 10:00:00",
        **override,
    }
    return urlencode(stack.alipay.signed(params)).encode()


def post_notify(stack: Any, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{stack.info['base_url']}/api/v1/notify/alipay",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def test_scanned_qr_marks_the_payable_paid_with_a_balanced_ledger(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    exit_entry = stack.info["units"][1]
    office = SignedClient(api.base_url, exit_entry["app_id"], exit_entry["app_secret"])
    created = register(office, payer, "GA0301")  # passport: 中央:地方 = 5:5
    order = open_order(stack, created["payment_code"])
    assert order["qr_code"].startswith("https://qr.alipay.com/")
    assert scan(stack, order["qr_code"]).status_code == 200
    paid = wait_status(stack, created["payment_code"], "paid", timeout=2.0)
    assert paid["channel"] == "alipay"
    ledger = ledger_for(stack, payable_id(stack, created["payment_code"]))
    assert ledger == {
        "channel_receivable:alipay": 12000,
        "treasury_payable:central": -6000,
        "treasury_payable:city": -6000,
    }
    detail = office.get(f"/api/v1/payables/{created['payment_code']}").json()
    assert detail["status"] == "paid"
    assert detail["paid_fen"] == 12000


def test_special_account_items_credit_the_special_account(
    stack: Any, school_api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(school_api, payer, "JY0101")
    pay_with_alipay(stack, created["payment_code"])
    ledger = ledger_for(stack, payable_id(stack, created["payment_code"]))
    assert ledger == {"channel_receivable:alipay": 110000, "special_account": -110000}


def test_webhook_is_delivered_signed_to_the_unit(
    stack: Any, api: SignedClient, payer: dict[str, str], webhooks: tuple[WebhookReceiver, str]
) -> None:
    receiver, url = webhooks
    endpoint = api.put("/api/v1/webhook-endpoint", {"url": url})
    assert endpoint.status_code == 200
    secret = endpoint.json()["secret"]
    created = register(api, payer)
    pay_with_alipay(stack, created["payment_code"])
    got = deliver_until(stack, receiver, created["payment_code"].encode())
    assert got, "no webhook arrived"
    hook = got[0]
    assert hook.headers["x-publicpay-event"] == "payable.paid"
    parts = dict(p.split("=", 1) for p in hook.headers["x-publicpay-signature"].split(","))
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + hook.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    event = json.loads(hook.body)
    assert {"id", "type", "created_at", "data"} <= event.keys()
    assert event["data"]["payment_code"] == created["payment_code"]
    assert event["data"]["status"] == "paid"


def test_failed_webhook_is_retried_with_back_off(
    stack: Any, api: SignedClient, payer: dict[str, str], webhooks: tuple[WebhookReceiver, str]
) -> None:
    receiver, url = webhooks
    api.put("/api/v1/webhook-endpoint", {"url": url})
    receiver.status_code = 500
    try:
        created = register(api, payer)
        pay_with_alipay(stack, created["payment_code"])
        assert deliver_until(stack, receiver, created["payment_code"].encode())
    finally:
        receiver.status_code = 200
    with stack.container.engines.read.connect() as conn:
        row = conn.execute(
            select(events)
            .where(events.c.type == "payable.paid")
            .where(events.c.data["payment_code"].as_string() == created["payment_code"])
        ).one()
    assert row.delivery == "pending"
    assert row.attempts == 1
    assert row.next_attempt_at.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(seconds=5)


def test_events_can_be_listed_since_a_cursor(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    first = api.get("/api/v1/events?after=0&limit=500").json()
    created = register(api, payer)
    later = api.get(f"/api/v1/events?after={first['next_cursor']}").json()
    assert [e["data"]["payment_code"] for e in later["events"]] == [created["payment_code"]]
    assert later["events"][0]["type"] == "payable.created"


def test_notification_with_a_wrong_amount_changes_nothing(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    order = open_order(stack, created["payment_code"])
    before = counts(stack)
    response = post_notify(stack, notify_form(stack, order["order_no"], "99.99"))
    assert response.text == "failure"
    assert counts(stack) == before
    assert wait_status(stack, created["payment_code"], "unpaid")
    with stack.container.engines.read.connect() as conn:
        kinds = (
            conn.execute(
                select(discrepancies.c.kind).where(discrepancies.c.order_no == order["order_no"])
            )
            .scalars()
            .all()
        )
    assert kinds == ["amount_mismatch"]


def test_notification_for_another_app_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    order = open_order(stack, created["payment_code"])
    before = counts(stack)
    response = post_notify(
        stack, notify_form(stack, order["order_no"], "100.00", app_id="2021999999999999")
    )
    assert response.text == "failure"
    assert counts(stack) == before


def test_notification_with_a_bad_signature_is_refused(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    order = open_order(stack, created["payment_code"])
    body = notify_form(stack, order["order_no"], "100.00").replace(
        b"TRADE_SUCCESS", b"TRADE_FINISHED"
    )
    before = counts(stack)
    assert post_notify(stack, body).text == "failure"
    assert post_notify(stack, b"not a form at all").text == "failure"
    assert counts(stack) == before


def test_notification_for_an_unknown_order_is_refused(stack: Any) -> None:
    before = counts(stack)
    assert post_notify(stack, notify_form(stack, "P000000000000unknown", "1.00")).text == "failure"
    assert counts(stack) == before


def test_repeated_notification_is_applied_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    order = open_order(stack, created["payment_code"])
    body = notify_form(stack, order["order_no"], "100.00")
    assert post_notify(stack, body).text == "success"
    after_first = counts(stack)
    assert post_notify(stack, body).text == "success"
    assert counts(stack) == after_first
    ledger = ledger_for(stack, payable_id(stack, created["payment_code"]))
    assert ledger["channel_receivable:alipay"] == 10000


def inbox_rows(stack: Any, order_no: str) -> list[tuple[str, str | None]]:
    with stack.container.engines.read.connect() as conn:
        rows = conn.execute(
            select(inbox.c.notify_id, inbox.c.outcome).where(inbox.c.order_no == order_no)
        )
        return [(row.notify_id, row.outcome) for row in rows]


def test_a_notification_is_stored_once_with_its_first_accepted_outcome(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    order = open_order(stack, created["payment_code"])
    body = notify_form(stack, order["order_no"], "100.00")
    assert post_notify(stack, body).text == "success"
    assert post_notify(stack, body).text == "success"  # applied again: already applied
    assert inbox_rows(stack, order["order_no"]) == [(f"forged{order['order_no']}", "paid")]


def test_a_refused_notification_is_kept_with_the_reason(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    order = open_order(stack, created["payment_code"])
    assert post_notify(stack, notify_form(stack, order["order_no"], "99.99")).text == "failure"
    assert inbox_rows(stack, order["order_no"]) == [
        (f"forged{order['order_no']}", "amount_mismatch")
    ]


def test_second_payment_of_a_paid_payable_is_refunded_automatically(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    first = open_order(stack, created["payment_code"])
    second = open_order(stack, created["payment_code"])
    assert scan(stack, first["qr_code"]).status_code == 200
    wait_status(stack, created["payment_code"], "paid")
    assert scan(stack, second["qr_code"]).status_code == 200
    pid = payable_id(stack, created["payment_code"])

    def refunded() -> Any:
        run_once(stack.container)
        with stack.container.engines.read.connect() as conn:
            refund = conn.execute(select(refunds).where(refunds.c.payable_id == pid)).first()
        return refund if refund is not None and refund.status == "succeeded" else None

    refund = wait_until(refunded, interval_s=0.05, message="the duplicate was not refunded")
    assert (refund.kind, refund.status, refund.amount_fen) == ("duplicate", "succeeded", 10000)
    trade = httpx.get(
        f"{stack.info['base_url']}/emulator/alipay/trades/{second['order_no']}"
    ).json()
    assert "refund" in json.dumps(trade).lower()
    ledger = ledger_for(stack, pid)
    assert ledger["channel_receivable:alipay"] == 10000  # paid twice, one refunded
    assert ledger["refunds_payable"] == 0


def test_lost_notification_is_recovered_by_querying(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    order = open_order(stack, created["payment_code"])
    base = stack.info["base_url"]
    httpx.post(
        f"{base}/emulator/alipay/faults",
        json={"out_trade_no": order["order_no"], "fault": "lose_notify"},
    )
    assert scan(stack, order["qr_code"]).status_code == 200
    sent = httpx.get(f"{base}/emulator/alipay/notifications?out_trade_no={order['order_no']}")
    assert [d["status"] for d in sent.json()] == ["lost"]  # paid, and nobody was told
    assert httpx.get(f"{base}/api/v1/pay/{created['payment_code']}").json()["status"] == "unpaid"
    run_once(stack.container)
    assert wait_status(stack, created["payment_code"], "paid")


def test_expired_unpaid_order_is_closed(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    order = open_order(stack, created["payment_code"])
    with stack.container.engines.write.begin() as conn:
        conn.execute(
            update(payment_orders)
            .where(payment_orders.c.order_no == order["order_no"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    run_once(stack.container)
    with stack.container.engines.read.connect() as conn:
        status = conn.execute(
            select(payment_orders.c.status).where(payment_orders.c.order_no == order["order_no"])
        ).scalar_one()
    assert status == "closed"
    assert scan(stack, order["qr_code"]).status_code == 409  # the wallet can no longer pay it


def test_paid_payable_cannot_be_ordered_again(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    pay_with_alipay(stack, created["payment_code"])
    response = httpx.post(
        f"{stack.info['base_url']}/api/v1/pay/{created['payment_code']}/orders",
        json={"channel": "alipay"},
    )
    assert response.status_code == 422


def test_mistyped_payment_code_is_caught_by_the_check_digit(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)["payment_code"]
    typo = code[:-2] + str((int(code[-2]) + 1) % 10) + code[-1]
    response = httpx.get(f"{stack.info['base_url']}/api/v1/pay/{typo}")
    assert response.status_code == 422
    assert "校验位" in response.json()["detail"]


def test_check_command_passes_on_a_consistent_database(stack: Any) -> None:
    result = subprocess.run(
        [".venv/bin/publicpay", "check"],
        capture_output=True,
        text=True,
        check=False,
        env={
            "PUBLICPAY_DATABASE_URL": stack.container.settings.database_url,
            "PATH": "/usr/bin:/bin",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "全部通过" in result.stdout


def test_check_command_finds_a_tampered_audit_row(stack: Any, new_database_url: Any) -> None:
    from publicpay.adapters.db import migrate
    from publicpay.adapters.db.engine import make_engines
    from publicpay.adapters.db.queries.invariants import run_checks

    url = new_database_url()
    migrate.upgrade(url)
    engine = make_engines(url).write
    with engine.begin() as conn:
        from publicpay.adapters.db.audit import AuditRepository

        sql = Sql(conn)
        audit = AuditRepository(sql)
        for n in range(3):
            audit.append("tester", "demo.action", str(n), {"n": n}, datetime.now(UTC))
        sql.flush()  # appends are queued until sent
        assert audit.seal() == 3
    with engine.connect() as conn:
        assert run_checks(conn).ok
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.target == "1").values(detail={"n": 99}))
    with engine.connect() as conn:
        report = run_checks(conn)
    engine.dispose()
    assert not report.ok
    assert any("审计日志" in v for v in report.violations)


def test_payment_notice_pdf_has_the_code_qr_and_amount_in_words(
    stack: Any, api: SignedClient, payer: dict[str, str], tmp_path: Any
) -> None:
    created = register(api, payer)
    response = httpx.get(created["notice_pdf_url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    grouped = " ".join(created["payment_code"][i : i + 4] for i in range(0, 20, 4))
    assert created["payment_code"] in text.replace(" ", "") or grouped in text
    assert "壹佰元整" in text
    assert "缴款通知书" in text
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "page")], check=True)
    page = sorted(tmp_path.glob("page*.png"))[0]
    decoded = subprocess.run(
        ["zbarimg", "-q", "--raw", str(page)], capture_output=True, text=True, check=False
    ).stdout
    assert created["pay_url"] in decoded
