"""Window POS device API (W1): find the business record by business number, plate, licence or
ID number — the payables of the terminal's unit (scope in the query) — with the items and
amounts the platform priced; with `ask=true`, a record not found is asked of the unit's business
system (services.payables.asking) and registered from its answer. Signed with the POS
terminal's device credential."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from publicpay.adapters.db.queries.pos import Found, find_business
from publicpay.api.auth import device_client
from publicpay.api.deps import container
from publicpay.api.routes.payables.registration import command_from_record
from publicpay.api.schemas import LineOut
from publicpay.bootstrap import Container
from publicpay.domain.codes import mask_name
from publicpay.domain.payables import due_now
from publicpay.domain.time import business_date
from publicpay.domain.units import ApiClient
from publicpay.services.payables.asking import BusinessQuery, ask_business_system

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
    asked: bool = Field(
        default=False, description="本平台未找到，已向单位业务系统查询（ask=true 时）"
    )


@router.get("/lookup", response_model=LookupOut, summary="窗口查找业务记录（业务编号/号牌/证件号）")
def lookup(
    q: str = Query(
        min_length=1, max_length=64, description="业务编号、号牌号码、驾驶证号或证件号码"
    ),
    ask: bool = Query(
        default=False,
        description="本平台未找到时，向单位业务系统查询（business.lookup）并登记其应答的业务记录",
    ),
    client: ApiClient = Depends(device_client),
    c: Container = Depends(container),
) -> LookupOut:
    c.claim_pending_nonce()  # a replayed lookup is refused (401) like any signed request
    # a terminal bound to no unit (a street kiosk) has no business records to find here
    unit = client.unit_id
    found = _find(c, unit, q) if unit is not None else []
    asked = bool(ask and not found and unit is not None)
    if asked and unit is not None and c.business_system is not None:
        query = BusinessQuery(unit, q.strip(), place="", operator=client.app_id)
        payable = ask_business_system(
            c.uow, c.business_system, query, parse=command_from_record, clock=c.clock,
            region_code=c.settings.region_code, serial_floor=c.serial_floor(),
        )  # fmt: skip
        found = _find(c, unit, payable.payment_code) if payable else []
    with c.read_uow() as uow:
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
        ],
        asked=asked,
    )


def _find(c: Container, unit_id: int, q: str) -> list[Found]:
    with c.read_uow() as uow:
        return find_business(uow.connection, uow.box, unit_id, q)
