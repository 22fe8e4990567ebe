"""Domain records → API bodies."""

from __future__ import annotations

from publicpay.adapters.receipts.formats import receipt_policy
from publicpay.api.schemas import LineOut, PayableOut, ReceiptRef
from publicpay.bootstrap import Container
from publicpay.domain.catalogue import FeeItem
from publicpay.domain.payables import Payable, due_now
from publicpay.domain.receipts.records import StoredReceipt
from publicpay.domain.time import business_date


def payable_out(c: Container, payable: Payable) -> PayableOut:
    with c.read_uow() as uow:
        items = uow.catalogue.items()
        receipt = uow.receipts.live_for_payable(payable.id)
    return payable_body(c, payable, items, receipt)


def new_payable_out(c: Container, payable: Payable) -> PayableOut:
    """A payable registered a moment ago: no receipt yet, the catalogue is in the cache."""
    items = c.catalogue_cache.items()
    if not c.catalogue_cache.fresh() or not items:
        return payable_out(c, payable)
    return payable_body(c, payable, items, None)


def payable_body(
    c: Container, payable: Payable, items: dict[str, FeeItem], receipt: StoredReceipt | None
) -> PayableOut:
    base = c.settings.public_base_url.rstrip("/")
    return PayableOut(
        payment_code=payable.payment_code,
        biz_no=payable.biz_no,
        status=payable.status.value,
        amount_fen=payable.amount_fen,
        amount_due_fen=due_now(payable, items, business_date(c.clock.now())),
        payer={
            "name": payable.payer_name,
            "type": payable.payer_type.value,
            "id_no_masked": payable.payer_id_masked,
        },
        lines=[
            LineOut(
                item_code=line.item_code,
                item_name=line.item_name,
                unit_of_measure=line.unit_of_measure,
                quantity=line.quantity,
                standard_fen=line.standard_fen,
                amount_fen=line.amount_fen,
            )
            for line in payable.lines
        ],
        due_date=payable.due_date,
        remark=payable.remark,
        created_at=payable.created_at.isoformat() if payable.created_at else "",
        paid_at=payable.paid_at.isoformat() if payable.paid_at else None,
        paid_fen=payable.paid_fen,
        channel=payable.channel,
        refunded_fen=payable.refunded_fen,
        pay_url=f"{base}/pay/{payable.payment_code}",
        notice_pdf_url=f"{base}/pay/{payable.payment_code}/notice.pdf",
        receipt=_receipt_ref(c, receipt) if receipt else None,
    )


def _receipt_ref(c: Container, receipt: StoredReceipt) -> ReceiptRef:
    """The live receipt (the one for what the payer kept, after any red-letter reversal)."""
    policy = receipt_policy(c.settings)
    return ReceiptRef(
        code=receipt.code,
        number=receipt.number,
        check_code=receipt.check_code,
        xml_url=policy.xml_url(receipt),
        pdf_url=policy.pdf_url(receipt),
    )
