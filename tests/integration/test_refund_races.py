"""Never more than was paid, under concurrency (meaningful on PostgreSQL, where the payable's row
lock orders the refunds of one payable; SQLite serialises writers): many refund requests at once
over the unit API, many approvals of one refund at once, and the worker executing them from
several threads — the refunds that went through add up to at most the paid amount."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from publicpay.adapters.db.refunds import refunds
from publicpay.jobs.schedule import SCHEDULE
from publicpay.jobs.worker import run_once
from tests.integration.receipt_kit import pay, register
from tests.integration.refund_kit import ask_refund, finance
from tests.support.client import SignedClient
from tests.support.db import ledger_for, payable_id

REFUND_TASKS = tuple(t for t in SCHEDULE if t.name == "run_refunds")


def _statuses(stack: Any, pid: int) -> list[tuple[str, int]]:
    stmt = select(refunds.c.status, refunds.c.amount_fen).where(refunds.c.payable_id == pid)
    with stack.container.engines.read.connect() as conn:
        return [(r.status, r.amount_fen) for r in conn.execute(stmt)]


def test_many_refund_requests_at_once_never_ask_for_more_than_was_paid(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register(api, payer)
    pay(stack, code)
    paid = api.get(f"/api/v1/payables/{code}").json()["paid_fen"]
    share = paid // 4 + 1  # four of these would be more than was paid: three at most fit

    def ask(_: int) -> int:
        client = SignedClient(api.base_url, api.app_id, api.secret)
        return ask_refund(client, code, share, key=uuid.uuid4().hex).status_code

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(12)))
    assert sorted(set(answers)) == [201, 409]
    accepted = [n for n in answers if n == 201]
    assert len(accepted) == 3
    asked = _statuses(stack, payable_id(stack, code))
    assert sum(amount for _, amount in asked) <= paid

    bureau = finance(stack)
    numbers = [
        r["refund_no"] for r in api.get(f"/api/v1/payables/{code}/refunds").json()["refunds"]
    ]

    def approve(refund_no: str) -> int:
        client = SignedClient(bureau.base_url, bureau.app_id, bureau.secret)
        path = f"/api/v1/admin/refunds/{refund_no}/approve"
        return client.post(path, {"note": "并发审批"}).status_code

    with ThreadPoolExecutor(8) as pool:  # each refund approved by many requests at once
        decided = list(pool.map(approve, [n for n in numbers for _ in range(3)]))
    assert decided.count(200) == len(numbers)  # once each; the others: already decided
    assert set(decided) <= {200, 403, 409}

    def work(_: int) -> None:
        for _ in range(3):
            run_once(stack.container, REFUND_TASKS)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    settled = api.get(f"/api/v1/payables/{code}").json()
    assert settled["refunded_fen"] == 3 * share <= paid
    assert settled["status"] == "partially_refunded"
    ledger = ledger_for(stack, payable_id(stack, code))
    assert sum(ledger.values()) == 0
    assert ledger["channel_receivable:alipay"] == paid - 3 * share
    assert all(status == "succeeded" for status, _ in _statuses(stack, payable_id(stack, code)))
