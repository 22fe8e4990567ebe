"""Issue fiscal e-receipts (财政电子票据) as jobs: one on payment, a red one on refund.

A payment (`_mark_paid`) or a settled refund enqueues a job in its own transaction; the worker
runs `issue_due_receipts`, which leases a batch of due jobs and issues them by number stock:

- payment jobs of one unit (or 开票点) are issued together in one transaction: lock their payables
  (in id order), skip the ones already issued, lock the unit's ranges and draw exactly as many
  numbers as there are receipts to issue, in job order, then build, sign and store every receipt
  with its `receipt.issued` event and audit row. Numbers are drawn and used in the same
  transaction, so a number is never drawn without its receipt (no gaps) and never twice (no
  reuse). Exhausted ranges leave the remaining jobs waiting (retried every minute, one alert).
  If the batch fails for any other reason, its jobs run one by one, so one bad job cannot hold
  up the others.
- refund jobs (a red receipt, and a new one for what is kept) run one by one, after the payments.

Jobs are idempotent by (kind, ref) and a receipt by (kind, ref) is unique, so running a job twice,
or on two workers, issues one receipt. Lock order everywhere: payable → receipt stock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from publicpay.domain.errors import DomainError
from publicpay.domain.payables import Payable
from publicpay.domain.receipts.receipts import (
    ReceiptStockExhausted,
    kept_after_refund,
    negated_lines,
)
from publicpay.domain.receipts.records import JobKind, ReceiptJob
from publicpay.domain.units import Unit
from publicpay.services.ports import Clock
from publicpay.services.receipts.building import (
    SETTLED,
    Draft,
    Issuer,
    NotReady,
    PayableNotPaid,
    ReceiptPolicy,
    SigningKeyMissing,
    payer_code,
    signers,
)
from publicpay.services.receipts.ports import BatchReceipts, ReceiptFormats
from publicpay.services.unit_of_work import UnitOfWork

__all__ = [
    "SETTLED",
    "NotReady",
    "PayableNotPaid",
    "ReceiptPolicy",
    "SigningKeyMissing",
    "issue_due_receipts",
    "request_receipt",
    "request_red_receipt",
    "run_job",
]

log = logging.getLogger("publicpay.services.receipts")  # its name before the reorganisation
LEASE = timedelta(seconds=120)
WAIT = timedelta(seconds=60)
BATCH = 100


def _batch_repo(uow: UnitOfWork) -> BatchReceipts:
    repo = uow.receipts
    assert isinstance(repo, BatchReceipts), "the receipts repository cannot issue in batches"
    return repo


def request_receipt(
    uow: UnitOfWork, payable: Payable, order_no: str, at: datetime, place: str | None = None
) -> None:
    """Enqueue 'issue the receipt of this payment' (call inside the payment's transaction)."""
    if payable.status not in SETTLED:
        raise PayableNotPaid(f"缴款单 {payable.payment_code} 未缴款，不能开具票据")
    uow.receipts.enqueue(JobKind.ISSUE, order_no, payable.id, place, at)


def request_red_receipt(uow: UnitOfWork, payable_id: int, refund_no: str, at: datetime) -> None:
    """Enqueue 'reverse the live receipt for this refund' (inside the refund's transaction)."""
    uow.receipts.enqueue(JobKind.REFUND, refund_no, payable_id, None, at)


def issue_due_receipts(
    new_uow: Callable[[], UnitOfWork],
    formats: ReceiptFormats,
    *,
    policy: ReceiptPolicy,
    clock: Clock,
    limit: int = BATCH,
) -> int:
    """Run due jobs (payments by stock in batches, then refunds); returns the receipts issued."""
    with new_uow() as uow:
        jobs = uow.receipts.claim_jobs(clock.now(), limit, LEASE)
        payments = [job for job in jobs if job.kind is JobKind.ISSUE]
        units = _batch_repo(uow).units_of({job.payable_id for job in payments}) if payments else {}
        uow.commit()
    groups: dict[tuple[int, str], list[ReceiptJob]] = {}
    for job in payments:
        groups.setdefault((units.get(job.payable_id, 0), job.place or ""), []).append(job)
    issued = 0
    for key in sorted(groups):  # every worker goes through the stocks in the same order
        issued += _issue_batch(new_uow, formats, groups[key], policy=policy, clock=clock)
    refunds = [job for job in jobs if job.kind is JobKind.REFUND]
    return issued + sum(
        run_job(new_uow, formats, job, policy=policy, clock=clock) for job in refunds
    )


def _issue_batch(
    new_uow: Callable[[], UnitOfWork],
    formats: ReceiptFormats,
    jobs: list[ReceiptJob],
    *,
    policy: ReceiptPolicy,
    clock: Clock,
) -> int:
    """Payment jobs of one stock in one transaction; one by one if the batch fails."""
    if len(jobs) == 1:
        return run_job(new_uow, formats, jobs[0], policy=policy, clock=clock)
    now = clock.now()
    try:
        with new_uow() as uow:
            issued = _Batch(uow, Issuer(formats, policy, now)).run(jobs)
            uow.commit()
        return issued
    except Exception:
        log.exception("receipt batch of %d jobs failed; running them one by one", len(jobs))
    return sum(run_job(new_uow, formats, job, policy=policy, clock=clock) for job in jobs)


class _Batch:
    """Payment jobs of one unit and 开票点, inside the caller's transaction."""

    def __init__(self, uow: UnitOfWork, issuer: Issuer) -> None:
        self.uow = uow
        self.repo = _batch_repo(uow)
        self.issuer = issuer
        self.now = issuer.now
        self.finished: list[int] = []

    def run(self, jobs: list[ReceiptJob]) -> int:
        todo = self._due(jobs)
        issued = self._issue(todo) if todo else 0
        self.repo.finish_jobs(self.finished, self.now)
        return issued

    def _due(self, jobs: list[ReceiptJob]) -> list[tuple[ReceiptJob, Payable]]:
        """Lock the payables (id order); refuse unpaid ones, pass over those already issued."""
        payables = self.repo.lock_payables({job.payable_id for job in jobs})
        refs, live = self.repo.issued_for([job.ref for job in jobs], payables)
        todo: list[tuple[ReceiptJob, Payable]] = []
        for job in jobs:
            payable = payables.get(job.payable_id)
            if payable is None or payable.status not in SETTLED:
                code = payable.payment_code if payable else job.payable_id
                _give_up(
                    self.uow, job, PayableNotPaid(f"缴款单 {code} 未缴款，不能开具票据"), self.now
                )
            elif job.ref in refs or payable.id in live:
                self.finished.append(job.id)  # this job ran before (or on another worker)
            else:
                live.add(payable.id)
                todo.append((job, payable))
        return todo

    def _issue(self, todo: list[tuple[ReceiptJob, Payable]]) -> int:
        unit = self.uow.units.get(todo[0][1].unit_id)
        assert unit is not None
        place = todo[0][0].place
        try:
            keys = signers(self.uow, unit)
        except SigningKeyMissing as exc:
            for job, _ in todo:
                _wait(self.uow, job, exc, self.now, alert=True)
            return 0
        numbers = self.repo.draw_block(unit.id, place, len(todo))
        built = []
        for (job, payable), number in zip(todo, numbers, strict=False):
            draft = self.issuer.payment(self.uow, payable, unit, job.ref)
            built.append((payable, *self.issuer.build(draft, unit, number, keys)))
            self.finished.append(job.id)
        self.repo.add_many([row for _, row, _ in built])
        for payable, row, face in built:
            self.issuer.event(self.uow, payable, row, face)
        if built:
            self.issuer.audit_batch(self.uow, [(payable, row) for payable, row, _ in built])
        if len(numbers) < len(todo):
            where = f"开票点 {place}" if place else "本单位"
            exhausted = ReceiptStockExhausted(f"{where}没有可用的票据号段，请财政部门分配号段")
            for job, _ in todo[len(numbers) :]:
                _wait(self.uow, job, exhausted, self.now, alert=True)
        return len(built)


def run_job(
    new_uow: Callable[[], UnitOfWork],
    formats: ReceiptFormats,
    job: ReceiptJob,
    *,
    policy: ReceiptPolicy,
    clock: Clock,
) -> int:
    """One claimed job, in its own transaction; returns the receipts it issued."""
    issuer = Issuer(formats, policy, clock.now())
    try:
        with new_uow() as uow:
            issued = _run(uow, issuer, job)
            uow.receipts.finish_job(job.id, "done", clock.now())
            uow.commit()
        return issued
    except NotReady as exc:
        _postpone(new_uow(), job, exc, clock, alert=False)
    except (ReceiptStockExhausted, SigningKeyMissing) as exc:
        _postpone(new_uow(), job, exc, clock, alert=True)
    except PayableNotPaid as exc:
        with new_uow() as uow:
            _give_up(uow, job, exc, clock.now())
            uow.commit()
    return 0


def _postpone(
    uow: UnitOfWork, job: ReceiptJob, exc: DomainError, clock: Clock, *, alert: bool
) -> None:
    with uow:
        _wait(uow, job, exc, clock.now(), alert=alert)
        uow.commit()


def _wait(
    uow: UnitOfWork, job: ReceiptJob, exc: DomainError, now: datetime, *, alert: bool
) -> None:
    """Retry the job in a minute; alert once per cause (not on every retry)."""
    uow.receipts.retry_job(job.id, now + WAIT, exc.code)
    if alert and job.last_error != exc.code:
        log.error("receipt job %s (%s %s) waits: %s", job.id, job.kind, job.ref, exc.detail)
        uow.audit.append(
            "system",
            "receipt.alert",
            f"receipt_job:{job.id}",
            {"error": exc.code, "detail": exc.detail, "ref": job.ref},
            now,
        )


def _give_up(uow: UnitOfWork, job: ReceiptJob, exc: DomainError, now: datetime) -> None:
    log.error("receipt job %s (%s %s) refused: %s", job.id, job.kind, job.ref, exc.detail)
    uow.receipts.finish_job(job.id, "failed", now, exc.code)
    uow.audit.append(
        "system", "receipt.refused", f"receipt_job:{job.id}", {"detail": exc.detail}, now
    )


def _run(uow: UnitOfWork, issuer: Issuer, job: ReceiptJob) -> int:
    payable = uow.payables.by_id(job.payable_id, lock=True)
    if payable is None or payable.status not in SETTLED:
        code = payable.payment_code if payable else job.payable_id
        raise PayableNotPaid(f"缴款单 {code} 未缴款，不能开具票据")
    unit = uow.units.get(payable.unit_id)
    assert unit is not None
    if job.kind is JobKind.ISSUE:
        if uow.receipts.by_ref("normal", job.ref) or uow.receipts.live_for_payable(payable.id):
            return 0  # already issued: this job ran before (or on another worker)
        _issue_one(uow, issuer, issuer.payment(uow, payable, unit, job.ref), unit, job.place)
        return 1
    return _refund(uow, issuer, job, payable, unit)


def _refund(uow: UnitOfWork, issuer: Issuer, job: ReceiptJob, payable: Payable, unit: Unit) -> int:
    if uow.receipts.by_ref("red", job.ref):
        return 0
    refund = uow.refunds.by_no(job.ref)
    if refund is None or refund.status != "succeeded":
        raise PayableNotPaid(f"退款 {job.ref} 未成功，不能开具红字票据")
    live = uow.receipts.live_for_payable(payable.id, lock=True)
    if live is None:
        raise NotReady(f"缴款单 {payable.payment_code} 的原票据尚未开具")
    original = issuer.formats.face(live.xml)
    payer = payer_code(uow, payable)
    note = f"退款冲红，退款单号 {job.ref}"
    red_lines = negated_lines(original.lines)
    red = issuer.face(payable, unit, red_lines, note, payer=payer, original=live)
    _issue_one(uow, issuer, Draft(payable, job.ref, red, live.id), unit, None)
    uow.receipts.set_status(live.id, "reversed")
    if refund.amount_fen >= live.total_fen:
        return 1
    note = f"部分退款后重开，原票据 {live.code}-{live.number}，退款单号 {job.ref}"
    lines = kept_after_refund(original.lines, refund.amount_fen)
    kept = issuer.face(payable, unit, lines, note, payer=payer)
    _issue_one(uow, issuer, Draft(payable, job.ref, kept), unit, None)
    return 2


def _issue_one(
    uow: UnitOfWork, issuer: Issuer, draft: Draft, unit: Unit, place: str | None
) -> None:
    keys = signers(uow, unit)
    row, face = issuer.build(draft, unit, uow.receipts.draw(unit.id, place), keys)
    uow.receipts.add(row)
    issuer.announce(uow, draft.payable, row, face)
