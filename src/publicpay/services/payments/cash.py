"""Cash at the window (现金, spec W2): the cashier takes notes, the platform books the payment
and says how much change to give.

The payment goes through `in_person.take_payment` (inbox + `apply_trade`): order channel and
method "cash", ledger debit `channel_receivable:cash` (the cashier holds the cash until it is
deposited). Idempotent on (device, client serial); without a client serial every call is new.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.in_person import InPersonRequest, InPersonUnitOfWork, take_payment
from publicpay.services.ports import Clock


@dataclass(frozen=True, slots=True)
class CashPayment:
    order_no: str
    payment_code: str
    amount_fen: int  # the amount due, booked
    received_fen: int  # what the payer handed over
    paid_at: datetime
    duplicate: bool  # paid by another channel in a race: booked as 重复缴款 to be refunded
    replayed: bool

    @property
    def change_fen(self) -> int:
        return self.received_fen - self.amount_fen


def record_cash_payment(
    uow: InPersonUnitOfWork,
    payment_code: str,
    *,
    cashier: str,
    received_fen: int,
    clock: Clock,
    device: str = "console",
    client_serial: str | None = None,
    unit_id: int | None = None,
) -> CashPayment:
    """Book a cash payment; refuses when `received_fen` is less than the amount due today."""
    if not cashier.strip():
        raise ValidationFailed("收费员不能为空", errors={"cashier": "必填"})
    if received_fen <= 0:
        raise ValidationFailed("实收金额应大于0", errors={"received_fen": "应大于0"})
    request = InPersonRequest(
        channel=Channel.CASH,
        source=device,
        serial=client_serial or "auto-" + secrets.token_hex(12),
        payment_code=payment_code.strip(),
        received_fen=received_fen,
        detail={"cashier": cashier.strip()},
        unit_id=unit_id,
    )
    taken = take_payment(uow, request, clock=clock)
    assert taken.order.paid_at is not None
    return CashPayment(
        order_no=taken.order.order_no,
        payment_code=taken.payable.payment_code,
        amount_fen=taken.order.amount_fen,
        received_fen=received_fen,
        paid_at=taken.order.paid_at,
        duplicate=taken.duplicate,
        replayed=taken.replayed,
    )
