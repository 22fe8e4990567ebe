"""Issue fiscal e-receipts (财政电子票据) as jobs: one on payment, a red one on refund.

A payment (`_mark_paid`) or a settled refund enqueues a job in its own transaction; the worker
runs `issue_due_receipts`. Each job is one transaction: lock the payable (the project's lock order:
payable → receipt stock), draw the next number of the unit's range, build the XML, sign it (unit,
then finance over XML + unit signature), store it verbatim, write the `receipt.issued` event and
the audit row. Anything failing rolls all of it back, so a number is never drawn without its
receipt (no gaps) and never drawn twice (no reuse). Jobs are idempotent by (kind, ref) and a
receipt by (kind, ref) is unique, so running a job twice, or on two workers, issues one receipt.
An exhausted range leaves the job waiting (retried every minute) and raises an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from publicpay.domain.amounts_in_words import amount_in_words
from publicpay.domain.errors import DomainError, ValidationFailed
from publicpay.domain.events import EventType
from publicpay.domain.money import allocate_fen
from publicpay.domain.payables import Payable, PayableStatus
from publicpay.domain.receipt_records import (
    DrawnNumber,
    JobKind,
    NewReceipt,
    ReceiptJob,
    StoredReceipt,
)
from publicpay.domain.receipts import (
    DEFAULT_PRINT_WINDOW_DAYS,
    DEFAULT_TITLE,
    ReceiptFace,
    ReceiptKind,
    ReceiptLine,
    ReceiptStockExhausted,
    new_check_code,
)
from publicpay.domain.time import SHANGHAI
from publicpay.domain.units import Unit
from publicpay.services.ports import Clock, ReceiptFormats, ReceiptSigner, UnitOfWork

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=120)
WAIT = timedelta(seconds=60)
SETTLED = (PayableStatus.PAID, PayableStatus.PARTIALLY_REFUNDED, PayableStatus.REFUNDED)
CHANNEL_NAMES = {
    "alipay": "支付宝",
    "wechat": "微信支付",
    "unionpay": "银联",
    "counter": "银行柜台",
    "cash": "现金",
}


class PayableNotPaid(ValidationFailed):
    title = "缴款单未缴款，不能开具票据"


class NotReady(DomainError):
    """A red receipt's original is not issued yet: wait for it (no alert)."""

    code = "receipt_not_ready"
    title = "原票据尚未开具"


class SigningKeyMissing(DomainError):
    code = "receipt_key_missing"
    title = "缺少票据签名密钥"


@dataclass(frozen=True, slots=True)
class ReceiptPolicy:
    base_url: str
    print_window_days: int = DEFAULT_PRINT_WINDOW_DAYS
    title: str = DEFAULT_TITLE
    payee: str = "统一公共支付平台"
    checker: str = "系统复核"

    def _root(self) -> str:
        return self.base_url.rstrip("/")

    def verify_url(self, code: str, number: str, check: str, at: datetime, fen: int) -> str:
        query = {
            "code": code,
            "number": number,
            "check_code": check,
            "date": at.astimezone(SHANGHAI).strftime("%Y-%m-%d"),
            "amount": f"{fen / 100:.2f}",
        }
        return f"{self._root()}/verify?{urlencode(query)}"

    def xml_url(self, r: StoredReceipt) -> str:
        return f"{self._root()}/api/v1/receipts/{r.code}/{r.number}/xml?check_code={r.check_code}"

    def pdf_url(self, r: StoredReceipt) -> str:
        return f"{self._root()}/api/v1/receipts/{r.code}/{r.number}/pdf?check_code={r.check_code}"


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
    limit: int = 50,
) -> int:
    """Run due receipt jobs; returns how many receipts were issued."""
    with new_uow() as uow:
        jobs = uow.receipts.claim_jobs(clock.now(), limit, LEASE)
        uow.commit()
    return sum(run_job(new_uow, formats, job, policy=policy, clock=clock) for job in jobs)


def run_job(
    new_uow: Callable[[], UnitOfWork],
    formats: ReceiptFormats,
    job: ReceiptJob,
    *,
    policy: ReceiptPolicy,
    clock: Clock,
) -> int:
    """One claimed job, in its own transaction; returns the receipts it issued."""
    issuer = _Issuer(formats, policy, clock.now())
    try:
        with new_uow() as uow:
            issued = issuer.run(uow, job)
            uow.receipts.finish_job(job.id, "done", clock.now())
            uow.commit()
        return issued
    except NotReady as exc:
        _postpone(new_uow(), job, exc, clock, alert=False)
    except (ReceiptStockExhausted, SigningKeyMissing) as exc:
        _postpone(new_uow(), job, exc, clock, alert=True)
    except PayableNotPaid as exc:
        _give_up(new_uow(), job, exc, clock)
    return 0


def _postpone(
    uow: UnitOfWork, job: ReceiptJob, exc: DomainError, clock: Clock, *, alert: bool
) -> None:
    now = clock.now()
    with uow:
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
        uow.commit()


def _give_up(uow: UnitOfWork, job: ReceiptJob, exc: DomainError, clock: Clock) -> None:
    now = clock.now()
    log.error("receipt job %s (%s %s) refused: %s", job.id, job.kind, job.ref, exc.detail)
    with uow:
        uow.receipts.finish_job(job.id, "failed", now, exc.code)
        uow.audit.append(
            "system", "receipt.refused", f"receipt_job:{job.id}", {"detail": exc.detail}, now
        )
        uow.commit()


class _Issuer:
    """Issues the receipts of one job inside the caller's transaction."""

    def __init__(self, formats: ReceiptFormats, policy: ReceiptPolicy, now: datetime) -> None:
        self.formats = formats
        self.policy = policy
        self.now = now

    def run(self, uow: UnitOfWork, job: ReceiptJob) -> int:
        payable = uow.payables.by_id(job.payable_id, lock=True)
        if payable is None or payable.status not in SETTLED:
            code = payable.payment_code if payable else job.payable_id
            raise PayableNotPaid(f"缴款单 {code} 未缴款，不能开具票据")
        unit = uow.units.get(payable.unit_id)
        assert unit is not None
        if job.kind is JobKind.ISSUE:
            return self._payment(uow, job, payable, unit)
        return self._refund(uow, job, payable, unit)

    def _payment(self, uow: UnitOfWork, job: ReceiptJob, payable: Payable, unit: Unit) -> int:
        live = uow.receipts.live_for_payable(payable.id)
        if uow.receipts.by_ref(ReceiptKind.NORMAL.value, job.ref) or live:
            return 0  # already issued: this job ran before (or on another worker)
        lines = _payment_lines(payable, uow)
        face = self._face(payable, unit, lines, payable.remark)
        self._issue(uow, job, payable, unit, face, None)
        return 1

    def _refund(self, uow: UnitOfWork, job: ReceiptJob, payable: Payable, unit: Unit) -> int:
        if uow.receipts.by_ref(ReceiptKind.RED.value, job.ref):
            return 0
        refund = uow.refunds.by_no(job.ref)
        if refund is None or refund.status != "succeeded":
            raise PayableNotPaid(f"退款 {job.ref} 未成功，不能开具红字票据")
        live = uow.receipts.live_for_payable(payable.id, lock=True)
        if live is None:
            raise NotReady(f"缴款单 {payable.payment_code} 的原票据尚未开具")
        original = self.formats.face(live.xml)
        note = f"退款冲红，退款单号 {job.ref}"
        red = self._face(payable, unit, _negated(original.lines), note, original=live)
        self._issue(uow, job, payable, unit, red, live.id)
        uow.receipts.set_status(live.id, "reversed")
        remainder = live.total_fen - refund.amount_fen
        if remainder <= 0:
            return 1
        note = f"部分退款后重开，原票据 {live.code}-{live.number}，退款单号 {job.ref}"
        lines = _remainder_lines(original.lines, remainder)
        self._issue(uow, job, payable, unit, self._face(payable, unit, lines, note), None)
        return 2

    def _face(
        self,
        payable: Payable,
        unit: Unit,
        lines: tuple[ReceiptLine, ...],
        remark: str,
        *,
        original: StoredReceipt | None = None,
    ) -> ReceiptFace:
        """A face with placeholder numbers (`_issue` fills them); red when it names an original."""
        total = sum(line.amount_fen for line in lines)
        words = amount_in_words(abs(total))
        return ReceiptFace(
            code="00000000",
            number="0000000000",
            check_code="000000",
            issued_at=self.now,
            payer_name=payable.payer_name,
            payer_id_masked=payable.payer_id_masked,
            unit_name=unit.name,
            unit_code=unit.credit_code,
            lines=lines,
            total_fen=total,
            total_in_words=words if total >= 0 else f"（负数）{words}",
            payee=self.policy.payee,
            checker=self.policy.checker,
            payment_code=payable.payment_code,
            channel_name=CHANNEL_NAMES.get(payable.channel or "", payable.channel or ""),
            verify_url="",
            title=self.policy.title,
            remark=remark,
            payer_type=payable.payer_type.value,
            kind=ReceiptKind.RED if original else ReceiptKind.NORMAL,
            original_code=original.code if original else "",
            original_number=original.number if original else "",
        )

    def _issue(
        self,
        uow: UnitOfWork,
        job: ReceiptJob,
        payable: Payable,
        unit: Unit,
        draft: ReceiptFace,
        original_id: int | None,
    ) -> StoredReceipt:
        unit_key, finance_key = _signers(uow, unit)
        drawn: DrawnNumber = uow.receipts.draw(unit.id, job.place)
        check = new_check_code()
        face = replace(
            draft,
            code=drawn.code,
            number=drawn.number,
            check_code=check,
            verify_url=self.policy.verify_url(
                drawn.code, drawn.number, check, self.now, draft.total_fen
            ),
        )
        xml = self.formats.xml(face)
        unit_signature, finance_signature = self.formats.sign(xml, unit_key[1], finance_key[1])
        new = NewReceipt(
            code=drawn.code,
            number=drawn.number,
            check_code=check,
            kind=face.kind.value,
            payable_id=payable.id,
            unit_id=unit.id,
            stock_id=drawn.stock_id,
            ref=job.ref,
            original_id=original_id,
            total_fen=face.total_fen,
            xml=xml,
            unit_signature=unit_signature,
            finance_signature=finance_signature,
            unit_key_id=unit_key[0],
            finance_key_id=finance_key[0],
            issued_at=self.now,
        )
        stored = uow.receipts.by_id(uow.receipts.add(new))
        assert stored is not None
        self._announce(uow, payable, stored, face)
        return stored

    def _announce(
        self, uow: UnitOfWork, payable: Payable, r: StoredReceipt, face: ReceiptFace
    ) -> None:
        data: dict[str, object] = {
            "payment_code": payable.payment_code,
            "biz_no": payable.biz_no,
            "kind": r.kind,
            "code": r.code,
            "number": r.number,
            "check_code": r.check_code,
            "total_fen": r.total_fen,
            "issued_at": r.issued_at.isoformat(),
            "xml_url": self.policy.xml_url(r),
            "pdf_url": self.policy.pdf_url(r),
        }
        if face.is_red:
            data["original"] = {"code": face.original_code, "number": face.original_number}
        uow.events.add(
            payable.unit_id, EventType.RECEIPT_ISSUED.value, data, self.now, deliver=True
        )
        uow.audit.append(
            "system",
            "receipt.issued",
            f"{r.code}-{r.number}",
            {"payment_code": payable.payment_code, "kind": r.kind, "total_fen": r.total_fen},
            self.now,
        )


def _signers(
    uow: UnitOfWork, unit: Unit
) -> tuple[tuple[int, ReceiptSigner], tuple[int, ReceiptSigner]]:
    unit_key = uow.receipts.signer("unit", unit.code)
    finance_key = uow.receipts.signer("finance", unit.region_code)
    if unit_key is None:
        raise SigningKeyMissing(f"单位 {unit.code} 没有有效的票据签名密钥")
    if finance_key is None:
        raise SigningKeyMissing(f"财政部门 {unit.region_code} 没有有效的监制签名密钥")
    return unit_key, finance_key


def _payment_lines(payable: Payable, uow: UnitOfWork) -> tuple[ReceiptLine, ...]:
    """The payable's lines; a fine's 滞纳金 (paid above the lines) gets a line of its own."""
    lines = [
        ReceiptLine(
            line.item_code,
            line.item_name,
            line.unit_of_measure,
            line.quantity,
            line.standard_fen,
            line.amount_fen,
        )
        for line in payable.lines
    ]
    extra = (payable.paid_fen or 0) - sum(line.amount_fen for line in lines)
    if extra > 0:
        items = uow.catalogue.items()
        fines = [x.item_code for x in lines if x.item_code in items and items[x.item_code].is_fine]
        code = fines[0] if fines else lines[0].item_code
        lines.append(ReceiptLine(code, "滞纳金", "元", 1, extra, extra))
    return tuple(lines)


def _negated(lines: tuple[ReceiptLine, ...]) -> tuple[ReceiptLine, ...]:
    return tuple(
        replace(line, quantity=-line.quantity, amount_fen=-line.amount_fen) for line in lines
    )


def _remainder_lines(lines: tuple[ReceiptLine, ...], remainder: int) -> tuple[ReceiptLine, ...]:
    """What is left after a partial refund, split over the original lines by their amounts."""
    parts = allocate_fen(remainder, [max(line.amount_fen, 0) for line in lines])
    kept = [
        replace(line, quantity=_quantity_for(line, part), amount_fen=part)
        for line, part in zip(lines, parts, strict=True)
        if part
    ]
    return tuple(kept)


def _quantity_for(line: ReceiptLine, part: int) -> int | Decimal:
    """The quantity stays when the line is whole; otherwise 1 (the amount is what was kept)."""
    return line.quantity if part == line.amount_fen else 1
