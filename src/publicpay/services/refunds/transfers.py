"""Refunds by bank transfer (counter and cash payments): the transfer instruction finance sends
to the bank, and the bank's confirmation recorded by finance, which completes the refund with all
its effects (ledger, red and replacement receipts, payable.refunded) in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.refunds import Refund
from publicpay.services.ports import Clock
from publicpay.services.refunds.approval import Approver, locked_in_scope
from publicpay.services.refunds.requests import PAYEE_CONTEXT, settle_requested_refund
from publicpay.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class TransferInstruction:
    """What the bank needs to pay the payee (the full account: for the bank only)."""

    refund_no: str
    amount_fen: int
    payee_name: str
    payee_bank: str
    payee_account_no: str
    purpose: str


def transfer_instruction(
    uow: UnitOfWork, refund_no: str, approver: Approver, *, clock: Clock
) -> TransferInstruction:
    """The instruction of an approved bank-transfer refund; reading the account is audited."""
    with uow:
        refund = locked_in_scope(uow, refund_no, approver)
        if refund.payee is None:
            raise ValidationFailed(f"退款 {refund_no} 原路退回，无需银行转账")
        number = uow.box.open_text(refund.payee.account_enc, PAYEE_CONTEXT)
        detail = {"payee_account": refund.payee.account_masked}
        uow.audit.append(
            approver.name, "refund.transfer_instruction", refund_no, detail, clock.now()
        )
        uow.commit()
    return TransferInstruction(
        refund.refund_no,
        refund.amount_fen,
        refund.payee.name,
        refund.payee.bank,
        number,
        f"退款 {refund.refund_no} {refund.reason}"[:60],
    )


def record_transfer(
    uow: UnitOfWork, refund_no: str, bank_serial: str, approver: Approver, *, clock: Clock
) -> Refund:
    """The bank confirmed the transfer (its serial number): the refund succeeds."""
    serial = bank_serial.strip()
    if not 4 <= len(serial) <= 64 or not serial.isascii() or not serial.isalnum():
        raise ValidationFailed(
            "请填写银行回单上的交易流水号（4–64位字母或数字）", errors={"bank_serial": serial}
        )
    now = clock.now()
    with uow:
        refund = locked_in_scope(uow, refund_no, approver)
        uow.collect(refund.record_transfer(serial, approver.name, at=now))
        settle_requested_refund(uow, refund, now)
        uow.refunds.save(refund)
        uow.commit()
    return refund
