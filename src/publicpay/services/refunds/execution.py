"""Refund execution through the original channel (automatic duplicate refunds for now).

Workflow: calls a channel between transactions. `apply_refund_notification` (a channel's word on
a refund, applied in one transaction) shares its `_apply` and stays here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable
from publicpay.domain.ledger import refund_paid_journal
from publicpay.domain.payments.channels import (
    Channel,
    Notification,
    RefundRequest,
    RefundResult,
    RefundState,
)
from publicpay.domain.time import business_date
from publicpay.services.payments.ports import Gateways
from publicpay.services.ports import Clock
from publicpay.services.refunds.requests import lock_refund_payable, settle_requested_refund
from publicpay.services.unit_of_work import UnitOfWork

log = logging.getLogger("publicpay.services.refunds")  # its name before the reorganisation
LEASE = timedelta(seconds=120)
OFFLINE_CHANNELS = frozenset({Channel.COUNTER.value, Channel.CASH.value})


def run_due_refunds(
    new_uow: Callable[[], UnitOfWork],
    gateways: Gateways,
    *,
    clock: Clock,
    limit: int = 20,
    notify_url: Callable[[str, int | None], str] | None = None,
) -> int:
    """Send due refunds; one the channel is still processing is queried, not sent again."""
    with new_uow() as uow:
        claimed = uow.refunds.claim_due(clock.now(), limit, LEASE)
        uow.commit()
    done = 0
    for refund in claimed:
        with new_uow() as uow:
            order = uow.orders.by_id(refund.order_id)
        assert order is not None
        request = RefundRequest(
            order.order_no,
            refund.refund_no,
            refund.amount_fen,
            order.amount_fen,
            refund.reason,
            notify_url(refund.channel, order.channel_account_id) if notify_url else "",
        )
        if refund.channel in OFFLINE_CHANNELS:
            _hand_over(new_uow(), refund.refund_no, refund.channel, clock)
            continue
        gateway = gateways.for_account(Channel(refund.channel), order.channel_account_id)
        try:
            if refund.status == "processing":
                result = gateway.query_refund(order.order_no, refund.refund_no)
            else:
                result = gateway.refund(request)
        except ChannelUnavailable as exc:
            _retry_later(new_uow(), refund.refund_no, refund.attempts, clock, str(exc.detail))
            continue
        except ChannelRejected as exc:
            _fail(new_uow(), refund.refund_no, clock, exc.channel_code or exc.detail)
            continue
        done += _apply(new_uow(), refund.refund_no, result, refund.attempts, clock)
    return done


def apply_refund_notification(uow: UnitOfWork, note: Notification, *, clock: Clock) -> str:
    """A verified refund notification for one of our refunds: record its final state."""
    if note.refund_no is None or not isinstance(note.state, RefundState):
        return "stored"
    with uow:
        refund = uow.refunds.by_no(note.refund_no)
    if refund is None or refund.amount_fen != note.amount_fen:
        log.warning("refund notification %s does not match a refund of ours", note.notify_id)
        return "stored"
    result = RefundResult(note.refund_no, note.state, note.amount_fen)
    return "refund_applied" if _apply(uow, note.refund_no, result, 0, clock) else "stored"


def _apply(
    uow: UnitOfWork, refund_no: str, result: RefundResult, attempts: int, clock: Clock
) -> int:
    now = clock.now()
    with uow:
        lock_refund_payable(uow, refund_no)
        refund = uow.refunds.by_no(refund_no, lock=True)
        if refund is None or refund.status == "succeeded":
            return 0
        if result.state is RefundState.PROCESSING:
            delay = timedelta(seconds=min(30 * 2**attempts, 3600))
            uow.refunds.set_status(refund_no, "processing", at=now, retry_at=now + delay)
            uow.commit()
            return 0
        if result.state is RefundState.FAILED:
            uow.refunds.set_status(refund_no, "failed", at=now)
            uow.audit.append("system", "refund.failed", refund_no, {"raw": str(result.raw)}, now)
            uow.commit()
            return 0
        uow.refunds.set_status(
            refund_no, "succeeded", at=now, channel_refund_no=result.channel_refund_no
        )
        if refund.kind == "requested":
            settle_requested_refund(uow, refund, now)
        else:
            uow.ledger.post(
                refund_paid_journal(refund_no, refund.channel, refund.amount_fen),
                payable_id=refund.payable_id,
                business_date=business_date(now),
                at=now,
            )
        uow.audit.append(
            "system", "refund.succeeded", refund_no, {"amount_fen": refund.amount_fen}, now
        )
        uow.commit()
        return 1


def _hand_over(uow: UnitOfWork, refund_no: str, channel: str, clock: Clock) -> None:
    """Counter and cash payments have no channel API to refund through: finance returns the
    money by bank transfer or at the window, and records it (status `manual` until then)."""
    now = clock.now()
    log.warning("refund %s (%s) needs a manual bank transfer or cash return", refund_no, channel)
    with uow:
        uow.refunds.set_status(refund_no, "manual", at=now)
        uow.audit.append("system", "refund.manual", refund_no, {"channel": channel}, now)
        uow.commit()


def _retry_later(uow: UnitOfWork, refund_no: str, attempts: int, clock: Clock, why: str) -> None:
    now = clock.now()
    log.warning("refund %s postponed: %s", refund_no, why)
    with uow:
        delay = timedelta(seconds=min(30 * 2**attempts, 3600))
        uow.refunds.set_status(refund_no, "pending", at=now, retry_at=now + delay)
        uow.commit()


def _fail(uow: UnitOfWork, refund_no: str, clock: Clock, why: str) -> None:
    now = clock.now()
    log.error("refund %s refused by the channel: %s", refund_no, why)
    with uow:
        uow.refunds.set_status(refund_no, "failed", at=now)
        uow.audit.append("system", "refund.failed", refund_no, {"reason": why}, now)
        uow.commit()
