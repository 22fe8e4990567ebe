"""Notifications out: signed webhooks from the event outbox, retried for more than 24 hours.

Workflow: calls a unit's webhook endpoint between transactions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from publicpay.services.events.ports import WebhookSender
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.webhooks")  # the name operators know (operator guide)

# Same schedule WeChat Pay uses for its own notifications: 24 h 4 min in all.
RETRY_DELAYS_S = (
    15,
    15,
    30,
    180,
    600,
    1200,
    1800,
    1800,
    1800,
    3600,
    10800,
    10800,
    10800,
    21600,
    21600,
)
LEASE = timedelta(seconds=60)


def signature_header(secret: str, timestamp: int, body: bytes, *older: str) -> str:
    """`t=<unix>,v1=<hex>`; during a secret's grace period after a rotation, one more `v1`
    per older secret (the current one first: a receiver checking the first v1 keeps working)."""
    macs = [
        hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        for key in (secret, *older)
    ]
    return f"t={timestamp}," + ",".join(f"v1={mac}" for mac in macs)


def event_body(event_id: str, type_: str, created_at: str, data: dict[str, Any]) -> bytes:
    payload = {"id": event_id, "type": type_, "created_at": created_at, "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def deliver_due(
    new_uow: Callable[[], UnitOfWork],
    sender: WebhookSender,
    *,
    clock: Clock,
    limit: int = 20,
) -> int:
    """Deliver what is due; returns the number delivered. Safe with many workers (leases)."""
    with new_uow() as uow:
        claimed = uow.events.claim_due(clock.now(), limit, LEASE)
        uow.commit()
    delivered = 0
    for event in claimed:
        with new_uow() as uow:
            unit = uow.units.get(event.unit_id)
        assert unit is not None
        body = event_body(event.event_id, event.type, event.created_at.isoformat(), event.data)
        status: int | None = None
        error: str | None = "单位未设置通知地址"
        duration_ms = 0
        now = clock.now()
        keys = unit.webhook_secrets_at(now)
        if unit.webhook_url and keys:
            timestamp = int(now.timestamp())
            headers = {
                "Content-Type": "application/json",
                "X-PublicPay-Event": event.type,
                "X-PublicPay-Event-Id": event.event_id,
                "X-PublicPay-Signature": signature_header(keys[0], timestamp, body, *keys[1:]),
            }
            status, error, duration_ms = sender.post(unit.webhook_url, headers, body)
        ok = status is not None and 200 <= status < 300
        delivered += ok
        _record(
            new_uow(),
            event.cursor,
            event.attempts,
            unit.webhook_url or "",
            status,
            error,
            duration_ms,
            ok,
            clock,
        )
    return delivered


def _record(
    uow: UnitOfWork,
    cursor: int,
    attempt: int,
    url: str,
    status: int | None,
    error: str | None,
    duration_ms: int,
    ok: bool,
    clock: Clock,
) -> None:
    now = clock.now()
    with uow:
        uow.events.log_delivery(cursor, attempt, url, status, error, duration_ms, now)
        if ok:
            uow.events.delivered(cursor, now)
        elif attempt <= len(RETRY_DELAYS_S):
            uow.events.retry_at(cursor, now + timedelta(seconds=RETRY_DELAYS_S[attempt - 1]))
        else:
            log.error("webhook event %s failed after %s attempts", cursor, attempt)
            uow.events.retry_at(cursor, None)
        uow.commit()
