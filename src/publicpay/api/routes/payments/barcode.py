"""Window POS / kiosk device API: barcode payments (被扫, 付款码), signed with a device credential.

The channel is told by the auth code itself (prefix and length); an unknown code is refused with
422 before anything is stored. The answer is the order's state once the channel has decided:
`succeeded` (paid), `closed` (the payer did not finish; the payment was cancelled), `failed`, or
`paying` when the channel could not be reached even to cancel (recovery finishes it).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from publicpay.api.auth import device_client
from publicpay.api.deps import container
from publicpay.api.idempotency import idempotent
from publicpay.api.schemas import Strict, text
from publicpay.bootstrap import Container
from publicpay.domain.codes import parse_payment_code
from publicpay.domain.units import ApiClient
from publicpay.services.payments.barcode import BarcodePolling, pay_by_barcode

router = APIRouter(prefix="/api/v1/pos", tags=["window POS (device API)"])
# While the payer types the password: query 10 times, 3 s apart, then cancel (撤销).
POLLING = BarcodePolling(polls=10, interval_s=3.0)

STATUS_LABELS = {
    "succeeded": "支付成功",
    "closed": "支付未完成，已撤销",
    "failed": "支付失败",
    "paying": "支付结果未知，系统将自动查询或撤销",
}


class BarcodePaymentIn(Strict):
    payment_code: str = text(min_length=1, max_length=32, description="20位缴款码")
    auth_code: str = text(
        min_length=1, max_length=64, description="扫到的缴款人付款码（支付宝/微信/云闪付）"
    )


class BarcodePaymentOut(BaseModel):
    order_no: str
    payment_code: str
    channel: str = Field(description="按付款码识别的渠道：alipay / wechat / unionpay")
    status: str = Field(description="succeeded / closed / failed / paying")
    status_label: str
    amount_fen: int


@router.post(
    "/barcode-payments",
    response_model=BarcodePaymentOut,
    summary="扫付款码收款（自动识别渠道；可带 Idempotency-Key 请求头）",
)
def barcode_payment(
    body: BarcodePaymentIn,
    request: Request,
    client: ApiClient = Depends(device_client),
    c: Container = Depends(container),
) -> Response:
    """A POS that lost the answer retries with the same Idempotency-Key and gets the same
    outcome instead of charging the payer's 付款码 twice."""
    code = body.payment_code.strip()
    parse_payment_code(code)
    return idempotent(
        c,
        request,
        f"device:{client.app_id}",
        body.model_dump_json(),
        lambda: _pay(c, client, code, body),
    )


def _pay(c: Container, client: ApiClient, code: str, body: BarcodePaymentIn) -> BarcodePaymentOut:
    done = pay_by_barcode(
        c.uow,
        c.gateways,
        code,
        body.auth_code,
        clock=c.clock,
        policy=c.payment_policy(),
        polling=POLLING,
        unit_id=client.unit_id,
        source=client.app_id,
    )
    return BarcodePaymentOut(
        order_no=done.order_no,
        payment_code=code,
        channel=done.channel,
        status=done.status.value,
        status_label=STATUS_LABELS.get(done.status.value, done.status.value),
        amount_fen=done.amount_fen,
    )
