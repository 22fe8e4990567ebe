"""Receipt stock (号段), concurrency, refusals, key rotation and the write-off report (核销)."""

from __future__ import annotations

import io
import threading
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from publicpay.adapters.crypto import sm2
from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.receipts.formats import ReceiptFormats, receipt_policy
from publicpay.domain.errors import Conflict
from publicpay.domain.receipts.records import JobKind, ReceiptJob
from publicpay.domain.time import business_date
from publicpay.services.receipts.issuing import issue_due_receipts, run_job
from publicpay.services.receipts.stock import allocate_stock, install_key
from tests.integration.receipt_kit import (
    drain,
    jobs_for,
    make_due,
    new_unit,
    pay,
    register,
    rows,
    stock_numbers,
)
from tests.integration.refund_kit import approved_refund
from tests.support.db import payable_id


def _audit(stack: Any, action: str) -> list[Any]:
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)))


def _stock_of(stack: Any, unit_id: int) -> Any:
    with stack.container.read_uow() as uow:
        return uow.receipts.stocks(unit_id)


def test_exhausted_stock_makes_issuing_wait_with_an_alert_and_nothing_half_issued(
    stack: Any, payer: dict[str, str]
) -> None:
    unit_id, client = new_unit(stack, stock_size=1)
    first, second = register(client, payer), register(client, payer)
    pay(stack, first)
    pay(stack, second)
    alerts_before = len(_audit(stack, "receipt.alert"))
    drain(stack)
    assert len(rows(stack, first)) == 1
    assert rows(stack, second) == []
    assert client.get(f"/api/v1/payables/{second}").json()["status"] == "paid"
    [job] = jobs_for(stack, payable_id(stack, second))
    assert job.status == "pending"
    assert job.last_error == "receipt_stock_exhausted"
    assert len(_audit(stack, "receipt.alert")) == alerts_before + 1
    [stock] = _stock_of(stack, unit_id)
    assert stock.status == "exhausted"
    assert stock.unused == 0
    c = stack.container
    with pytest.raises(Conflict):
        allocate_stock(
            c.uow(), stock.code, stock.start, 5, unit_id=unit_id, actor="finance", clock=c.clock
        )
    allocate_stock(
        c.uow(), stock.code, stock.end + 1, 5, unit_id=unit_id, actor="finance", clock=c.clock
    )
    make_due(stack)
    drain(stack)
    [issued] = rows(stack, second)
    assert int(issued.number) == stock.end + 1


def test_two_workers_at_once_issue_each_receipt_once_in_order(
    stack: Any, payer: dict[str, str]
) -> None:
    unit_id, client = new_unit(stack, stock_size=100)
    codes = [register(client, payer) for _ in range(6)]
    for code in codes:
        pay(stack, code)
    c = stack.container
    policy = receipt_policy(c.settings)
    jobs = [
        ReceiptJob(0, JobKind.ISSUE, _order_no(stack, code), payable_id(stack, code), None, 1, None)
        for code in codes
    ]
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        for job in jobs:  # both workers run every job: the same job twice, at the same time
            run_job(c.uow, ReceiptFormats(), job, policy=policy, clock=c.clock)
        issue_due_receipts(c.uow, ReceiptFormats(), policy=policy, clock=c.clock, limit=2)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [len(rows(stack, code)) for code in codes] == [1] * 6
    [stock] = _stock_of(stack, unit_id)
    _, numbers = stock_numbers(stack, stock.id)
    assert numbers == list(range(stock.start, stock.start + 6))
    assert stock.next == stock.start + 6


def _order_no(stack: Any, code: str) -> str:
    from publicpay.adapters.db.payables import payables
    from publicpay.adapters.db.payments.tables import payment_orders

    stmt = (
        select(payment_orders.c.order_no)
        .join(payables, payables.c.paid_order_id == payment_orders.c.id)
        .where(payables.c.payment_code == code)
    )
    with stack.container.engines.read.connect() as conn:
        return str(conn.execute(stmt).scalar_one())


def test_rotated_keys_are_published_and_old_receipts_still_verify(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    _, client = new_unit(stack, stock_size=10)
    before = register(client, payer)
    pay(stack, before)
    drain(stack)
    unit_code = client.app_id.removeprefix("pp_t")
    c = stack.container
    new_key = sm2.generate_private_key_pem()
    install_key(c.uow(), "unit", f"339{unit_code}", new_key, actor="finance", clock=c.clock)
    after = register(client, payer)
    pay(stack, after)
    drain(stack)
    keys = httpx.get(f"{base_url}/api/v1/receipts/keys").json()["keys"]
    mine = [k for k in keys if k["owner"] == f"339{unit_code}"]
    assert [k["active"] for k in mine] == [False, True]
    assert mine[1]["public_key_pem"].encode() == sm2.public_key_pem(new_key)
    old, new = rows(stack, before)[0], rows(stack, after)[0]
    assert old.unit_key_id == mine[0]["key_id"]
    assert new.unit_key_id == mine[1]["key_id"]
    for r in (old, new):
        url = f"{base_url}/api/v1/receipts/{r.code}/{r.number}/signatures"
        body = httpx.get(url, params={"check_code": r.check_code}).json()
        unit = body["signatures"][0]
        import base64

        assert sm2.verify(
            unit["public_key_pem"].encode(),
            base64.b64decode(unit["content_b64"]),
            base64.b64decode(unit["signature_b64"]),
        )


def test_write_off_report_balances_and_exports_to_excel(stack: Any, payer: dict[str, str]) -> None:
    unit_id, client = new_unit(stack, stock_size=50)
    codes = [register(client, payer) for _ in range(2)]
    for code in codes:
        pay(stack, code)
    drain(stack)
    c = stack.container
    approved_refund(stack, client, codes[0], 1000, "部分退费")
    drain(stack)
    live = client.get(f"/api/v1/payables/{codes[1]}").json()["receipt"]
    assert (
        client.post(f"/api/v1/receipts/{live['code']}/{live['number']}/print", {}).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/receipts/{live['code']}/{live['number']}/booking",
            {"check_code": live["check_code"]},
        ).status_code
        == 200
    )
    today = business_date(c.clock.now())
    report = client.get(f"/api/v1/receipts/write-off?from={today}&to={today}").json()
    assert report["balanced"] is True, report["problems"]
    assert report["issued"]["count"] == 3
    assert report["red"]["count"] == 1
    assert report["net_fen"] == report["payments"]["net_fen"]
    assert report["printed"] == {"count": 1, "reprints": 0}
    assert report["booked"] == 1
    assert report["unused"] == 50 - 4
    xlsx = client.get(f"/api/v1/receipts/write-off?from={today}&to={today}&format=xlsx")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["核销汇总", "号段", "票据明细"]
    summary = {row[0]: row[1] for row in book["核销汇总"].iter_rows(values_only=True)}
    assert summary["核销结论"] == "平衡"
    assert summary["红字票据（张）"] == 1
    assert book["票据明细"].max_row == 1 + 4
    del unit_id


def test_print_window_comes_from_the_settings() -> None:
    from publicpay.adapters.receipts.formats import receipt_policy
    from publicpay.settings import Mode, Settings

    settings = Settings(mode=Mode.TEST, receipt_print_window_days=30)
    assert receipt_policy(settings).print_window_days == 30
