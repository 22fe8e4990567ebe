"""Window POS device API: cash payments (现金), signed with a device credential (kind "device").

Idempotent on (device, client_serial): the same serial with the same body answers the same; with
another body → 409.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictInt

from publicpay.api.auth import device_client
from publicpay.api.deps import container
from publicpay.api.schemas import Strict, text
from publicpay.bootstrap import Container
from publicpay.domain.units import ApiClient
from publicpay.services.payments.cash import record_cash_payment

router = APIRouter(prefix="/api/v1/pos", tags=["window POS (device API)"])


class CashPaymentIn(Strict):
    payment_code: str = text(min_length=1, max_length=32, description="20位缴款码")
    received_fen: StrictInt = Field(
        ge=1, le=10**13, description="实收现金（分），不少于今日应缴金额"
    )
    cashier: str = text(min_length=1, max_length=32, description="收费员")
    client_serial: str = Field(
        pattern=r"^[0-9A-Za-z_-]{1,64}$", description="终端流水号（本终端内唯一，幂等键）"
    )


class CashPaymentOut(BaseModel):
    order_no: str
    payment_code: str
    status: str = Field(description="paid；duplicate=并发中已由其他渠道缴款，本笔登记为重复缴款")
    amount_fen: int = Field(description="应缴并入账金额（分）")
    received_fen: int
    change_fen: int = Field(description="找零（分）")
    paid_at: str


@router.post("/cash-payments", response_model=CashPaymentOut, summary="现金收款")
def cash_payment(
    body: CashPaymentIn,
    client: ApiClient = Depends(device_client),
    c: Container = Depends(container),
) -> CashPaymentOut:
    paid = record_cash_payment(
        c.uow(),
        body.payment_code,
        cashier=body.cashier,
        received_fen=body.received_fen,
        clock=c.clock,
        device=client.app_id,
        client_serial=body.client_serial,
        unit_id=client.unit_id,
    )
    return CashPaymentOut(
        order_no=paid.order_no,
        payment_code=paid.payment_code,
        status="duplicate" if paid.duplicate else "paid",
        amount_fen=paid.amount_fen,
        received_fen=paid.received_fen,
        change_fen=paid.change_fen,
        paid_at=paid.paid_at.isoformat(),
    )
