"""Refunds over HTTP: the unit asks (unit API, Idempotency-Key), the bureau approves (finance
API), the worker sends it to the channel."""

from __future__ import annotations

import uuid
from typing import Any

from publicpay.services.refunds.approval import Approver, approve_refund
from publicpay.services.refunds.execution import run_due_refunds
from tests.support.client import SignedClient


def finance(stack: Any) -> SignedClient:
    fin = stack.info["finance"]
    return SignedClient(stack.info["base_url"], fin["app_id"], fin["app_secret"])


def ask_refund(
    client: SignedClient, code: str, amount: int, reason: str = "业务撤销", **extra: Any
) -> Any:
    """POST the unit's refund request; returns the response (201 when accepted)."""
    key = extra.pop("key", None) or uuid.uuid4().hex
    return client.post(
        f"/api/v1/payables/{code}/refunds",
        {"amount_fen": amount, "reason": reason, **extra},
        extra_headers={"Idempotency-Key": key},
    )


def approved_refund(
    stack: Any, client: SignedClient, code: str, amount: int, reason: str = "业务撤销"
) -> str:
    """Asked for by the unit and approved by the bureau (twice over the threshold)."""
    asked = ask_refund(client, code, amount, reason)
    assert asked.status_code == 201, asked.text
    refund = asked.json()
    decided = finance(stack).post(
        f"/api/v1/admin/refunds/{refund['refund_no']}/approve", {"note": "同意"}
    )
    assert decided.status_code == 200, decided.text
    if refund["approvals_required"] == 2:  # a second reviewer, in the console's service
        c = stack.container
        second = Approver("user:reviewer2", c.settings.region_code)
        approve_refund(c.uow(), refund["refund_no"], second, "复核同意", clock=c.clock)
    return str(refund["refund_no"])


def handed_over_refund(
    stack: Any, client: SignedClient, code: str, amount: int, payee: dict[str, str]
) -> str:
    """A refund asked with the payer's bank account, approved by finance and handed over by the
    worker: it waits for finance's bank transfer. Its number."""
    asked = ask_refund(client, code, amount, "多缴退还", payee=payee)
    assert asked.status_code == 201, asked.text
    refund_no = str(asked.json()["refund_no"])
    approved = finance(stack).post(f"/api/v1/admin/refunds/{refund_no}/approve", {"note": "同意"})
    assert approved.status_code == 200, approved.text
    c = stack.container
    notify_url = c.payment_policy().notify_url_for
    run_due_refunds(c.uow, c.gateways, clock=c.clock, notify_url=notify_url)
    return refund_no
