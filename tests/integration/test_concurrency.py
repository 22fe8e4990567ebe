"""Races: many workers and concurrent channel notifications (meaningful on PostgreSQL, where
rows are claimed with FOR UPDATE SKIP LOCKED; SQLite serialises writers)."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from publicpay.adapters.db.payables import payables
from publicpay.services.events.webhooks import deliver_due
from tests.conftest import payable_body
from tests.integration.test_payment_flow import notify_form, open_order, post_notify, register
from tests.support.client import SignedClient
from tests.support.db import ledger_for, payable_id
from tests.support.webhooks import WebhookReceiver


def test_many_workers_never_deliver_one_event_twice(
    stack: Any, api: SignedClient, payer: dict[str, str], webhooks: tuple[WebhookReceiver, str]
) -> None:
    receiver, url = webhooks
    api.put("/api/v1/webhook-endpoint", {"url": url})
    c = stack.container
    unit_id = c.api_client(api.app_id).unit_id
    with c.uow() as uow:
        ids = [
            uow.events.add(
                unit_id, "payable.paid", {"n": n, "race": True}, c.clock.now(), deliver=True
            )
            for n in range(40)
        ]
        uow.commit()

    def worker(_: int) -> int:
        return sum(deliver_due(c.uow, c.sender, clock=c.clock, limit=5) for _ in range(30))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    got = Counter(json.loads(r.body)["id"] for r in receiver.received if b'"race":true' in r.body)
    assert set(got) == set(ids)
    assert max(got.values()) == 1


def test_concurrent_copies_of_one_notification_pay_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    order = open_order(stack, created["payment_code"])
    body = notify_form(stack, order["order_no"], "100.00")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post_notify(stack, body).text, range(8)))
    assert set(answers) == {"success"}
    ledger = ledger_for(stack, payable_id(stack, created["payment_code"]))
    assert ledger == {"channel_receivable:alipay": 10000, "treasury_payable:county": -10000}


def test_two_orders_succeeding_at_once_pay_the_payable_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    created = register(api, payer)
    orders = [open_order(stack, created["payment_code"]) for _ in range(2)]
    bodies = [notify_form(stack, o["order_no"], "100.00") for o in orders]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda b: post_notify(stack, b).text, bodies))
    assert answers == ["success", "success"]
    ledger = ledger_for(stack, payable_id(stack, created["payment_code"]))
    assert ledger["treasury_payable:county"] == -10000  # paid once
    assert ledger["refunds_payable"] == -10000  # the other owed back, refund scheduled
    assert ledger["channel_receivable:alipay"] == 20000


def test_concurrent_registrations_of_one_biz_no_create_one_payable(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    body = payable_body(payer)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.post("/api/v1/payables", body), range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["payment_code"] for a in answers}) == 1
    with stack.container.read_uow() as uow:
        count = uow.connection.execute(
            select(func.count()).where(payables.c.biz_no == body["biz_no"])
        ).scalar_one()
    assert count == 1


def test_concurrent_registrations_of_one_biz_no_with_other_bodies_conflict(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    first = payable_body(payer)
    bodies = [{**first, "remark": f"第{n}份"} for n in range(6)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda b: api.post("/api/v1/payables", b), bodies))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
