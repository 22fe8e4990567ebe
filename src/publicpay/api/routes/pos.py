"""Window POS device API (W1): find the business record by business number, plate, licence or
ID number — the payables of the terminal's unit (scope in the query) — with the items and
amounts the platform priced. Signed with the POS terminal's device credential."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from publicpay.adapters.db.queries.pos import find_business
from publicpay.api.auth import device_client
from publicpay.api.deps import container
from publicpay.api.schemas import LineOut
from publicpay.bootstrap import Container
from publicpay.domain.codes import mask_name
from publicpay.domain.payables import due_now
from publicpay.domain.time import business_date
from publicpay.domain.units import ApiClient

router = APIRouter(prefix="/api/v1/pos", tags=["window POS (device API)"])


class FoundPayableOut(BaseModel):
    payment_code: str = Field(description="20位缴款码")
    biz_no: str = Field(description="执收单位业务编号")
    status: str = Field(description="缴款单状态：unpaid、paid …")
    payer_name: str = Field(description="缴款人（脱敏）")
    payer_id_masked: str = Field(description="证件号码（脱敏）")
    amount_fen: int = Field(description="登记金额（分）")
    amount_due_fen: int = Field(description="今日应缴金额（分），含逾期加处罚款")
    lines: list[LineOut] = Field(description="平台按收费标准计价的项目明细")
    attributes: dict[str, str] = Field(description="业务属性（脱敏）：plate_no、licence_no 等")


class LookupOut(BaseModel):
    payables: list[FoundPayableOut] = Field(description="匹配的缴款单，最新在前，至多20条")


@router.get("/lookup", response_model=LookupOut, summary="窗口查找业务记录（业务编号/号牌/证件号）")
def lookup(
    q: str = Query(
        min_length=1, max_length=64, description="业务编号、号牌号码、驾驶证号或证件号码"
    ),
    client: ApiClient = Depends(device_client),
    c: Container = Depends(container),
) -> LookupOut:
    c.claim_pending_nonce()  # a replayed lookup is refused (401) like any signed request
    with c.read_uow() as uow:
        # a terminal bound to no unit (a street kiosk) has no business records to find here
        unit = client.unit_id
        found = find_business(uow.connection, uow.box, unit, q) if unit is not None else []
        items = uow.catalogue.items()
    today = business_date(c.clock.now())
    return LookupOut(
        payables=[
            FoundPayableOut(
                payment_code=f.payable.payment_code,
                biz_no=f.payable.biz_no,
                status=f.payable.status.value,
                payer_name=mask_name(f.payable.payer_name),
                payer_id_masked=f.payable.payer_id_masked,
                amount_fen=f.payable.amount_fen,
                amount_due_fen=due_now(f.payable, items, today),
                lines=[
                    LineOut.model_validate(line, from_attributes=True) for line in f.payable.lines
                ],
                attributes=f.attributes,
            )
            for f in found
        ]
    )
