"""The pay page after payment: the payable's e-receipt (PDF, signed XML, public check) and its
refunds with their red receipts (红字票据).

Whoever holds the payment code may read what the pay page shows, and the receipt is part of it:
`/pay/{code}/receipt.pdf` serves the live receipt (404 before it is issued, and after a full
refund reversed it), and the page links the red receipts and the signed XML with their check
codes. Viewing is not printing: no print is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi.responses import Response

from publicpay.adapters.receipts.formats import ReceiptFormats
from publicpay.bootstrap import Container
from publicpay.domain.errors import NotFound
from publicpay.domain.money import format_yuan
from publicpay.domain.payables import Payable, PayableStatus
from publicpay.domain.receipts.records import StoredReceipt
from publicpay.domain.refunds import Refund, RefundStatus
from publicpay.domain.time import SHANGHAI, local_text
from publicpay.services.receipts.access import receipt_pdf

_REFUND_LABELS = {
    RefundStatus.PENDING_APPROVAL: "退款审核中",  # refunds (issue 11): waiting for finance
    RefundStatus.DECLINED: "退款申请未获批准",
    RefundStatus.PENDING: "退款处理中",
    RefundStatus.PROCESSING: "退款处理中",
    RefundStatus.SUCCEEDED: "已退回",
    RefundStatus.FAILED: "退款失败，请联系执收单位",
    RefundStatus.MANUAL: "财政部门银行转账退回中",
}
_REFUND_UNDER_WAY = "退款处理中"  # a status added later reads as "in progress"

NOTICE_STAMPS = {
    PayableStatus.PAID: "已缴款",
    PayableStatus.PARTIALLY_REFUNDED: "已缴款",
    PayableStatus.REFUNDED: "已缴款（已退款）",
    PayableStatus.CANCELLED: "已撤销 作废",
    PayableStatus.EXPIRED: "已过期 作废",
}


def notice_stamp(status: PayableStatus) -> str:
    """The red mark of a payment notice that no longer asks for money ("" while unpaid)."""
    return NOTICE_STAMPS.get(status, "")


@dataclass(frozen=True, slots=True)
class ReceiptView:
    code: str
    number: str
    check_code: str
    red: bool
    reversed: bool
    issued: str
    total: str
    pdf_url: str
    xml_url: str
    verify_url: str


@dataclass(frozen=True, slots=True)
class RefundView:
    refund_no: str
    amount_fen: int
    reason: str
    status_label: str
    done: bool
    created: str
    red_receipts: tuple[ReceiptView, ...]
    replacements: tuple[ReceiptView, ...] = ()  # refunds (issue 11): the receipt for the rest


def receipt_view(r: StoredReceipt) -> ReceiptView:
    base = f"/api/v1/receipts/{r.code}/{r.number}"
    check = urlencode({"check_code": r.check_code})
    verify = urlencode(
        {
            "code": r.code,
            "number": r.number,
            "check_code": r.check_code,
            "date": r.issued_at.astimezone(SHANGHAI).date().isoformat(),
            "amount": f"{r.total_fen / 100:.2f}",
        }
    )
    return ReceiptView(
        code=r.code,
        number=r.number,
        check_code=r.check_code,
        red=r.kind == "red",
        reversed=r.status == "reversed",
        issued=local_text(r.issued_at),
        total=format_yuan(r.total_fen),
        pdf_url=f"{base}/pdf?{check}",
        xml_url=f"{base}/xml?{check}",
        verify_url=f"/verify?{verify}",
    )


def _refund_view(refund: Refund, receipts: list[StoredReceipt]) -> RefundView:
    reds = tuple(receipt_view(r) for r in receipts if r.kind == "red" and r.ref == refund.refund_no)
    return RefundView(
        refund_no=refund.refund_no,
        amount_fen=refund.amount_fen,
        reason=refund.reason,
        status_label=_REFUND_LABELS.get(refund.status, _REFUND_UNDER_WAY),
        done=refund.status is RefundStatus.SUCCEEDED,
        created=local_text(refund.created_at) if refund.created_at else "",
        red_receipts=reds,
        replacements=tuple(
            receipt_view(r) for r in receipts if r.kind == "normal" and r.ref == refund.refund_no
        ),
    )


def after_payment(c: Container, payable: Payable) -> dict[str, object]:
    """What the pay page shows of a payable's receipts and refunds (nothing while unpaid)."""
    if payable.status in (PayableStatus.UNPAID, PayableStatus.CANCELLED, PayableStatus.EXPIRED):
        return {"receipt": None, "receipts_pending": False, "refunds": ()}
    with c.read_uow() as uow:
        receipts = uow.receipts.for_payable(payable.id)
        refunds = uow.refunds.for_payable(payable.id)
    live = next((r for r in receipts if r.kind == "normal" and r.status == "issued"), None)
    fully_refunded = payable.status is PayableStatus.REFUNDED
    return {
        "receipt": receipt_view(live) if live else None,
        "receipts_pending": live is None and not fully_refunded,
        "refunds": tuple(_refund_view(refund, receipts) for refund in refunds),
    }


def live_receipt_pdf(c: Container, payable: Payable) -> Response:
    """The live e-receipt of the payable as PDF (NotFound before it is issued)."""
    with c.read_uow() as uow:
        live = uow.receipts.live_for_payable(payable.id)
    if live is None:
        raise NotFound(
            f"缴款码 {payable.payment_code} 的电子票据尚未开具（缴款成功后一般几秒内开具）"
        )
    body = receipt_pdf(c.read_uow(), c.uow(), ReceiptFormats(), live)
    name = f"{live.code}-{live.number}.pdf"
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(body, media_type="application/pdf", headers=headers)
