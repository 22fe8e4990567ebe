"""The worker's schedule: one table of what runs how often. Every task is idempotent and safe to
run on many workers at once (rows are leased with FOR UPDATE SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from publicpay.adapters.db.alerts import scan as scan_alerts
from publicpay.adapters.db.exports import KEEP as EXPORT_KEEP
from publicpay.adapters.db.exports import prune as prune_exports
from publicpay.adapters.db.queries.alerts import registered
from publicpay.adapters.exports import run_due_exports
from publicpay.adapters.receipts.formats import ReceiptFormats, receipt_policy
from publicpay.bootstrap import Container
from publicpay.services.events.webhooks import deliver_due
from publicpay.services.messages.sending import send_due_messages
from publicpay.services.payables.batches import prune_previews
from publicpay.services.payments.carts import recover_open_carts
from publicpay.services.payments.recovery import recover_open_orders
from publicpay.services.receipts.issuing import issue_due_receipts
from publicpay.services.recording.statistics import fold_statistics
from publicpay.services.refunds.execution import run_due_refunds


@dataclass(frozen=True)
class Task:
    name: str
    every_s: float
    run: Callable[[Container], int]


def _webhooks(c: Container) -> int:
    return deliver_due(c.uow, c.sender, clock=c.clock)


def _refunds(c: Container) -> int:
    notify_url = c.payment_policy().notify_url_for
    return run_due_refunds(c.uow, c.gateways, clock=c.clock, notify_url=notify_url)


def _receipts(c: Container) -> int:
    policy = receipt_policy(c.settings)
    return issue_due_receipts(c.uow, ReceiptFormats(), policy=policy, clock=c.clock)


def _recover(c: Container) -> int:
    return recover_open_orders(
        c.uow, c.gateways, clock=c.clock, older_than_s=c.settings.recovery_after_s
    )


def _recover_carts(c: Container) -> int:
    return recover_open_carts(
        c.uow, c.gateways, clock=c.clock, older_than_s=c.settings.recovery_after_s
    )


def _messages(c: Container) -> int:
    """Payer messages (N3, portal)."""
    return send_due_messages(
        c.uow, c.message_sender, base_url=c.settings.public_base_url, clock=c.clock
    )


def _prune_nonces(c: Container) -> int:
    with c.uow() as uow:
        # a nonce must outlive every timestamp the signature check still accepts
        horizon = timedelta(seconds=2 * c.settings.signature_max_skew_s + 60)
        pruned = uow.units.prune_nonces(c.clock.now() - horizon)
        uow.commit()
    return pruned


def _prune_idempotency_keys(c: Container) -> int:
    with c.uow() as uow:
        pruned = uow.idempotency.prune(c.clock.now() - timedelta(hours=24))
        uow.commit()
    return pruned


def _prune_batch_previews(c: Container) -> int:
    """Unconfirmed console previews keep their rows (sealed) for a day, then lose them."""
    return prune_previews(c.batch_uow(), clock=c.clock)


SEAL_BATCH = 1000
SEAL_MAX_PER_RUN = 50_000


def _seal_audit(c: Container) -> int:
    """Seal in batches (one transaction each) until caught up, so the chain keeps pace with a
    busy platform; bounded per run so other tasks get their turn."""
    total = 0
    while total < SEAL_MAX_PER_RUN:
        with c.uow() as uow:
            sealed = uow.audit.seal(SEAL_BATCH)
            uow.commit()
        total += sealed
        if sealed < SEAL_BATCH:
            break
    return total


# statistics (issue 10): background exports, and their files pruned after a day
def _exports(c: Container) -> int:
    return run_due_exports(c.engines, c.box, now=c.clock.now)


def _fold_statistics(c: Container) -> int:
    return fold_statistics(c.uow)


def _alerts(c: Container) -> int:
    return scan_alerts(c.engines.write, registered(), c.clock.now(), c.settings.region_code)


def _prune_exports(c: Container) -> int:
    return prune_exports(c.engines.write, c.clock.now() - EXPORT_KEEP)


def _reconcile(c: Container) -> int:
    """Reconciliation (issue 12): yesterday's statements, once per cluster."""
    from publicpay.adapters.reconciliation.engine import PolarsEngine
    from publicpay.services.reconciliation.reconcile import reconcile_due

    start = c.settings.reconcile_from
    return reconcile_due(c.uow, PolarsEngine(), c.statement_sources(), clock=c.clock, start=start)


def _clear(c: Container) -> int:
    """Clearing (issue 12): yesterday, once fully reconciled, once per cluster."""
    from publicpay.adapters.reconciliation.clearing_split import ColumnarSplitter
    from publicpay.services.reconciliation.clearing import clear_due

    account = c.settings.collection_account_number or "collection"
    return clear_due(c.uow, c.treasury(), account, clock=c.clock, splitter=ColumnarSplitter())


SCHEDULE: tuple[Task, ...] = (
    Task("deliver_webhooks", 0.5, _webhooks),
    Task("run_refunds", 2.0, _refunds),
    Task("issue_receipts", 0.5, _receipts),
    Task("recover_open_orders", 10.0, _recover),
    Task("seal_audit_log", 5.0, _seal_audit),
    Task("prune_nonces", 60.0, _prune_nonces),
    Task("prune_idempotency_keys", 600.0, _prune_idempotency_keys),
    Task("prune_batch_previews", 600.0, _prune_batch_previews),
    Task("reconcile_yesterday", 300.0, _reconcile),  # reconciliation (issue 12)
    Task("clear_yesterday", 300.0, _clear),  # clearing (issue 12)
    Task("fold_statistics", 1.0, _fold_statistics),  # statistics (issue 10): pending tallies
    Task("run_exports", 2.0, _exports),  # statistics (issue 10)
    Task("prune_exports", 600.0, _prune_exports),  # statistics (issue 10)
    Task("detect_alerts", 60.0, _alerts),  # statistics (issue 10): supervision alerts
    Task("recover_open_carts", 10.0, _recover_carts),  # issue 13
    Task("send_payer_messages", 1.0, _messages),  # portal (issue 13)
)
