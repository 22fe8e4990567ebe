"""Batch registration of payables (P5): every row checked and reported, the accepted payables
registered in one transaction, nothing half-done.

Each business number in the batch goes through what one registration does
(`services.payables.registration`: payer checks, pricing from the catalogue, unit authorisation,
idempotency by `biz_no`): a number registered before with the same content comes back as
*existing*, with other content it is refused. When a row is refused the batch registers nothing,
unless the caller asked for `accept_partial`: then the valid payables are registered and the
refused ones reported. A dry run only reports. Either way the batch is stored with its report.

What was registered before is read once for the whole batch, and ids are drawn for all of it, before
anything is queued; the payables are queued as they are checked and written together at commit.
A refusal without `accept_partial` drops all of it, and the refused batch is then recorded on its
own. A business number registered concurrently by another request makes the
transaction fail on its unique key: the batch is checked once more, and that number is then
*existing* (or refused, with other content).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from publicpay.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from publicpay.domain.payable_batches import (
    MAX_ROWS,
    BatchRecord,
    BatchReport,
    BatchRow,
    BatchStatus,
    Draft,
    RowResult,
    RowStatus,
    drafts,
    row_results,
)
from publicpay.domain.payables import Payable
from publicpay.services.payables.ports import BatchesRepo
from publicpay.services.payables.registration import RegisterPayable, build_payable, store_payable
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

ROWS_CONTEXT = b"payable_batch_rows"
PREVIEW_KEPT = timedelta(days=1)  # an unconfirmed preview's rows are dropped after this


class BatchesUnitOfWork(UnitOfWork, Protocol):
    """The unit of work with the batches repository."""

    @property
    def batches(self) -> BatchesRepo: ...


@dataclass(frozen=True, slots=True)
class SubmitBatch:
    unit_id: int
    rows: tuple[BatchRow, ...]
    source: str  # csv | xlsx | json
    file_name: str
    file_sha256: str
    actor: str  # who sent it, for the audit log: unit:<id> or user:<name>
    dry_run: bool = False
    accept_partial: bool = False
    keep_rows: bool = False  # a console preview: its rows are kept (sealed) to be confirmed
    preview_id: int | None = None  # the preview this submission confirms


def submit_batch(
    uow: BatchesUnitOfWork,
    cmd: SubmitBatch,
    *,
    region_code: str,
    clock: Clock,
    serial_floor: int = 0,
) -> BatchRecord:
    """Check, report and (unless a dry run or refused) register a batch; returns it as stored.
    `region_code` and `serial_floor` shape the payment codes (registration.build_payable)."""
    _check_size(len(cmd.rows))
    groups = drafts(cmd.rows)
    codes = (region_code, serial_floor)
    try:
        return _attempt(uow, cmd, groups, codes, clock)
    except Conflict:  # a business number was registered meanwhile: it is now existing
        return _attempt(uow, cmd, groups, codes, clock)


def confirm_preview(
    uow: BatchesUnitOfWork,
    preview_id: int,
    *,
    unit_id: int,
    actor: str,
    accept_partial: bool,
    region_code: str,
    clock: Clock,
    serial_floor: int = 0,
) -> BatchRecord:
    """Register the rows of a stored preview (once: a confirmed preview cannot be confirmed
    again); the new batch is stored and returned."""
    with uow:
        preview = uow.batches.get(preview_id)
        sealed = uow.batches.rows_of(preview_id)
    if preview is None or preview.unit_id != unit_id:
        raise NotFound("该批次不存在")
    if sealed is None:
        raise Conflict("该预览已确认登记或已过期，请重新上传文件")
    rows = tuple(BatchRow.from_json(r) for r in json.loads(uow.box.open_text(sealed, ROWS_CONTEXT)))
    cmd = SubmitBatch(
        unit_id=unit_id,
        rows=rows,
        source=preview.source,
        file_name=preview.file_name,
        file_sha256=preview.file_sha256,
        actor=actor,
        accept_partial=accept_partial,
        preview_id=preview_id,
    )
    return submit_batch(uow, cmd, region_code=region_code, clock=clock, serial_floor=serial_floor)


def prune_previews(uow: BatchesUnitOfWork, *, clock: Clock) -> int:
    with uow:
        pruned = uow.batches.prune_previews(clock.now() - PREVIEW_KEPT)
        uow.commit()
    return pruned


def _check_size(rows: int) -> None:
    if rows == 0:
        raise ValidationFailed("文件中没有数据行", errors={"file": "没有数据行"})
    if rows > MAX_ROWS:
        message = f"共{rows}行，超过单批{MAX_ROWS}行的上限，请拆分后分批提交"
        raise ValidationFailed(message, errors={"file": message})


def _attempt(
    uow: BatchesUnitOfWork,
    cmd: SubmitBatch,
    groups: list[Draft],
    codes: tuple[str, int],
    clock: Clock,
) -> BatchRecord:
    now = clock.now()
    with uow:
        _consume_preview(uow, cmd)
        batch_id = uow.batches.add(_record(cmd, now, BatchReport.of(_status(cmd), [], 0)), None)
        run = _Run(uow, cmd, batch_id, codes, clock, groups)
        results = [result for draft in groups for result in run.check(draft)]
        status = _status(cmd, results)
        report = BatchReport.of(status, results, run.stored)
        if status is not BatchStatus.REFUSED:
            record = replace(_record(cmd, now, report), id=batch_id)
            uow.batches.finish(batch_id, record, _sealed(uow, cmd) if cmd.keep_rows else None)
            _audit(uow, record)
            uow.commit()
            return record
    return _record_refusal(uow, cmd, report, now)  # what was stored above is rolled back


def _status(cmd: SubmitBatch, results: list[RowResult] | None = None) -> BatchStatus:
    if cmd.dry_run:
        return BatchStatus.DRY_RUN
    found = {r.status for r in results or ()}
    valid = found - {RowStatus.REFUSED}  # accepted rows, or rows registered before
    if RowStatus.REFUSED in found and not (cmd.accept_partial and valid):
        return BatchStatus.REFUSED
    return BatchStatus.REGISTERED


def _record(cmd: SubmitBatch, now: datetime, report: BatchReport) -> BatchRecord:
    return BatchRecord(
        unit_id=cmd.unit_id,
        source=cmd.source,
        file_name=cmd.file_name,
        file_sha256=cmd.file_sha256,
        accept_partial=cmd.accept_partial,
        actor=cmd.actor,
        created_at=now,
        report=report,
        preview_id=cmd.preview_id,
    )


def _record_refusal(
    uow: BatchesUnitOfWork, cmd: SubmitBatch, report: BatchReport, now: datetime
) -> BatchRecord:
    refused = BatchReport.of(BatchStatus.REFUSED, report.rows, 0)
    with uow:
        record = _record(cmd, now, refused)
        record = replace(record, id=uow.batches.add(record, None))
        _audit(uow, record)
        uow.commit()
    return record


def _consume_preview(uow: BatchesUnitOfWork, cmd: SubmitBatch) -> None:
    if cmd.preview_id is None:
        return
    preview = uow.batches.get(cmd.preview_id, lock=True)
    if preview is None or preview.unit_id != cmd.unit_id:
        raise NotFound("该批次不存在")
    if not preview.confirmable:
        raise Conflict("该预览已确认登记或已过期，请重新上传文件")
    uow.batches.forget_rows(cmd.preview_id)


def _sealed(uow: BatchesUnitOfWork, cmd: SubmitBatch) -> bytes:
    text = json.dumps([row.to_json() for row in cmd.rows], ensure_ascii=False)
    return uow.box.seal_text(text, ROWS_CONTEXT)


def _audit(uow: BatchesUnitOfWork, record: BatchRecord) -> None:
    report = record.report
    detail = {
        "file_name": record.file_name,
        "file_sha256": record.file_sha256,
        "rows": len(report.rows),
        "accepted": report.count(RowStatus.ACCEPTED),
        "existing": report.count(RowStatus.EXISTING),
        "refused": report.count(RowStatus.REFUSED),
        "created": report.created_count,
        "amount_fen": report.amount_fen,
    }
    action = f"payable_batch.{report.status.value}"
    uow.audit.append(record.actor, action, f"batch:{record.id}", detail, record.created_at)


class _Run:
    """One pass over the batch's payables inside the transaction."""

    def __init__(
        self,
        uow: BatchesUnitOfWork,
        cmd: SubmitBatch,
        batch_id: int,
        codes: tuple[str, int],  # region code, serial floor
        clock: Clock,
        groups: list[Draft],
    ) -> None:
        self.uow, self.cmd, self.batch_id = uow, cmd, batch_id
        self.codes, self.clock = codes, clock
        self.storing = not cmd.dry_run
        self.stored = 0
        # read before anything is queued: what was registered before, and ids for the new ones
        self.existing = uow.payables.by_biz_nos(cmd.unit_id, [draft.biz_no for draft in groups])
        self.ids = iter(uow.payables.next_ids(len(groups)))

    def check(self, draft: Draft) -> list[RowResult]:
        if draft.errors or draft.payer is None:
            return self._refused(draft, draft.errors)
        request = RegisterPayable(
            unit_id=self.cmd.unit_id,
            biz_no=draft.biz_no,
            payer=draft.payer,
            items=draft.lines,
            due_date=draft.due_date,
            remark=draft.remark,
        )
        fingerprint = request.fingerprint()
        existing = self.existing.get(draft.biz_no)
        if existing is not None:
            return self._existing(draft, existing, fingerprint)
        try:
            region_code, floor = self.codes
            payable = build_payable(
                self.uow,
                request,
                fingerprint,
                region_code,
                self.clock,
                floor,
                payable_id=next(self.ids),
            )
        except DomainError as exc:
            return self._refused(draft, draft.refusals(exc.errors, exc.detail))
        self._store(payable, request)
        amounts = [line.amount_fen for line in payable.lines]
        return row_results(
            draft, RowStatus.ACCEPTED, amounts=amounts, payment_code=payable.payment_code
        )

    def _existing(self, draft: Draft, existing: Payable, fingerprint: str) -> list[RowResult]:
        if existing.request_hash != fingerprint:
            reason = (
                f"业务编号已用不同的内容登记过（缴款码 {existing.payment_code}），"
                "如需变更请先撤销原缴款单并使用新的业务编号"
            )
            return self._refused(draft, draft.refusals({"biz_no": reason}, reason))
        amounts = [line.amount_fen for line in existing.lines]
        return row_results(
            draft, RowStatus.EXISTING, amounts=amounts, payment_code=existing.payment_code
        )

    def _refused(self, draft: Draft, errors: dict[int, dict[str, str]]) -> list[RowResult]:
        if not self.cmd.accept_partial:
            self.storing = False  # the transaction will not commit: no need to store more
        return row_results(draft, RowStatus.REFUSED, errors=errors)

    def _store(self, payable: Payable, request: RegisterPayable) -> None:
        if not self.storing:
            return
        store_payable(self.uow, payable, request, actor=self.cmd.actor, batch_id=self.batch_id)
        self.stored += 1
