"""Bank counter API (银行代收, spec B1), signed with the bank's credentials (kind "bank").

Query by payment code, confirm a collected payment (idempotent on the bank's serial), same-day
reversal (冲正), daily statement file. See docs/bank-counter.md.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field, StrictInt

from publicpay.adapters.db.queries.payments import render_csv, statement_rows
from publicpay.api.auth import bank_client
from publicpay.api.deps import container
from publicpay.api.params import PaymentCode
from publicpay.api.schemas import LineOut, PlausibleDatetime, Strict, text
from publicpay.bootstrap import Container
from publicpay.domain.codes import mask_name
from publicpay.domain.payables import PayableStatus, status_label
from publicpay.domain.units import ApiClient
from publicpay.services.payments.counter import (
    ConfirmPayment,
    CounterView,
    confirm_payment,
    reverse_payment,
    statement_day,
    view_payable,
)

router = APIRouter(prefix="/api/v1/counter", tags=["bank counter (bank API)"])

SERIAL = r"^[0-9A-Za-z_-]{1,64}$"


class CounterPayableOut(BaseModel):
    payment_code: str
    status: str = Field(description="unpaid|paid|partially_refunded|refunded|cancelled|expired")
    status_label: str
    payable: bool = Field(description="现在能否缴款（仅 unpaid 可缴）")
    message: str = Field(description="给柜员看的提示")
    unit_name: str = Field(description="执收单位")
    payer: dict[str, str] = Field(description="缴款人（姓名、证件号均已脱敏）")
    lines: list[LineOut]
    amount_fen: int = Field(description="应缴金额（分），不含加处罚款")
    late_fee_fen: int = Field(
        description="今日加处罚款（分）：罚没项目逾期每日按罚款数额的3%加处，以罚款数额为限"
    )
    amount_due_fen: int = Field(description="今日应缴金额（分）= amount_fen + late_fee_fen")
    due_date: date | None
    paid_at: str | None = None
    channel: str | None = None


class ConfirmIn(Strict):
    payment_code: str = text(min_length=1, max_length=32, description="20位缴款码")
    bank_serial: str = Field(pattern=SERIAL, description="银行流水号（幂等键）")
    amount_fen: StrictInt = Field(ge=1, le=10**13, description="实收金额（分），须等于今日应缴金额")
    paid_at: PlausibleDatetime | None = Field(default=None, description="银行收款时间（带时区）")
    branch: str = text("", max_length=64, description="网点号")
    teller: str = text("", max_length=32, description="柜员号")


class ConfirmOut(BaseModel):
    bank_serial: str
    payment_code: str
    order_no: str = Field(description="平台订单号")
    status: str = Field(description="paid；duplicate=并发中已由其他渠道缴款，本笔登记为重复缴款")
    amount_fen: int
    paid_at: str


class ReversalIn(Strict):
    bank_serial: str = Field(pattern=SERIAL, description="要冲正的缴款流水号")
    reason: str = text(min_length=1, max_length=200, description="冲正原因")


class ReversalOut(BaseModel):
    bank_serial: str
    payment_code: str
    order_no: str
    status: str = Field(description="reversed")
    amount_fen: int
    reversed_at: str


@router.get(
    "/payables/{payment_code}", response_model=CounterPayableOut, summary="柜面按缴款码查询"
)
def query(
    payment_code: PaymentCode,
    client: ApiClient = Depends(bank_client),
    c: Container = Depends(container),
) -> CounterPayableOut:
    del client
    return _view_out(view_payable(c.read_uow(), payment_code.strip(), clock=c.clock))


def _view_out(view: CounterView) -> CounterPayableOut:
    p = view.payable
    payable = p.status is PayableStatus.UNPAID
    return CounterPayableOut(
        payment_code=p.payment_code,
        status=p.status.value,
        status_label=status_label(p.status),
        payable=payable,
        message="可以缴款" if payable else f"缴款单{status_label(p.status)}，不能缴款",
        unit_name=view.unit_name,
        payer={
            "name": mask_name(p.payer_name),
            "type": p.payer_type.value,
            "id_no_masked": p.payer_id_masked,
        },
        lines=[LineOut.model_validate(line, from_attributes=True) for line in p.lines],
        amount_fen=p.amount_fen,
        late_fee_fen=view.late_fee_fen,
        amount_due_fen=view.amount_due_fen,
        due_date=p.due_date,
        paid_at=p.paid_at.isoformat() if p.paid_at else None,
        channel=p.channel,
    )


@router.post("/payments", response_model=ConfirmOut, summary="缴款确认（按银行流水号幂等）")
def confirm(
    body: ConfirmIn, client: ApiClient = Depends(bank_client), c: Container = Depends(container)
) -> ConfirmOut:
    cmd = ConfirmPayment(
        bank=client.app_id,
        bank_serial=body.bank_serial,
        payment_code=body.payment_code.strip(),
        amount_fen=body.amount_fen,
        paid_at=body.paid_at,
        branch=body.branch,
        teller=body.teller,
    )
    taken = confirm_payment(c.uow(), cmd, clock=c.clock)
    assert taken.order.paid_at is not None
    return ConfirmOut(
        bank_serial=body.bank_serial,
        payment_code=taken.payable.payment_code,
        order_no=taken.order.order_no,
        status="duplicate" if taken.duplicate else "paid",
        amount_fen=taken.order.amount_fen,
        paid_at=taken.order.paid_at.isoformat(),
    )


@router.post("/reversals", response_model=ReversalOut, summary="冲正（仅限当日）")
def reverse(
    body: ReversalIn, client: ApiClient = Depends(bank_client), c: Container = Depends(container)
) -> ReversalOut:
    done = reverse_payment(
        c.uow(), bank=client.app_id, bank_serial=body.bank_serial, reason=body.reason, clock=c.clock
    )
    return ReversalOut(
        bank_serial=body.bank_serial,
        payment_code=done.payable.payment_code,
        order_no=done.order.order_no,
        status="reversed",
        amount_fen=done.order.amount_fen,
        reversed_at=done.reversed_at.isoformat(),
    )


@router.get(
    "/statements/{day}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "对账文件（UTF-8 BOM CSV）"}},
    summary="日终对账文件",
)
def statement(
    day: Annotated[str, Path(max_length=10, pattern=r"^[0-9-]+$", description="对账日 YYYY-MM-DD")],
    client: ApiClient = Depends(bank_client),
    c: Container = Depends(container),
) -> Response:
    on = statement_day(day, clock=c.clock)
    with c.read_uow() as uow:
        rows = statement_rows(uow.connection, client.app_id, on)
    filename = f"counter_{client.app_id}_{on.isoformat()}.csv"
    return Response(
        render_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
