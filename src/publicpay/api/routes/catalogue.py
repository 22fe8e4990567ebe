"""Finance administration API for the fee catalogue (issue 10): the catalogue with every
standard's history, and unit authorisations per item — for a bureau's own systems that keep
the catalogue or the units' grants elsewhere and push them here.

Signed with a finance bureau's credential. Authorising is idempotent by its natural key (PUT:
granting what is granted answers the same; DELETE: withdrawing what is not granted answers the
same); a unit outside the bureau's region answers 404, like one that does not exist. Every
change is audited as `finance:<app id>`. An item's attributes and budget split are edited with
PATCH (the console's rules, `services.catalogue.administration.update_item`: validated on save,
issued payables keep their amounts). New items (POST, idempotent by code) and new standards (POST,
idempotent by content; overlapping dates answer 409) go through the console's own service,
`add_item` and `add_standard`: a new standard starts today or later, so no issued payable is
ever repriced.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field, StrictInt, StringConstraints

from publicpay.api.auth import claimed_finance_client, finance_actor, finance_client
from publicpay.api.deps import container
from publicpay.api.schemas import NO_CONTROLS
from publicpay.bootstrap import Container
from publicpay.domain.catalogue import (
    BudgetLevel,
    Category,
    Destination,
    FeeItem,
    LevelShare,
    Split,
    Standard,
    StandardKind,
)
from publicpay.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from publicpay.domain.units import ApiClient
from publicpay.services.catalogue.administration import (
    ItemChange,
    add_item,
    add_standard,
    grant_item,
    revoke_item,
    update_item,
)

router = APIRouter(prefix="/api/v1/admin", tags=["finance administration"])
UnitCode = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{3,20}$", description="执收单位编码")]
ItemCode = Annotated[str, Path(pattern=r"^[0-9A-Z]{2,20}$", description="收费项目编码")]
Short20 = Annotated[str, StringConstraints(max_length=20, pattern=NO_CONTROLS)]
Short200 = Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROLS)]
Short300 = Annotated[str, StringConstraints(max_length=300, pattern=NO_CONTROLS)]


class ShareOut(BaseModel):
    level: str = Field(description="预算级次：central 中央 / province 省 / city 市 / county 区县")
    weight: int = Field(description="比例权重（定额级次为 0）")
    fixed_fen: int | None = Field(description="每笔定额（分）；按比例分成时为 null")


class StandardOut(BaseModel):
    kind: str = Field(description="标准类型：fixed 固定金额 / range 区间 / decision 按决定书")
    amount_fen: int | None = Field(description="固定标准的金额（分）")
    min_fen: int | None = Field(description="区间标准的下限（分）")
    max_fen: int | None = Field(description="区间标准的上限或按决定书收取的上限（分）")
    valid_from: date = Field(description="起始日期（含）")
    valid_to: date | None = Field(description="截止日期（含）；null 表示长期有效")
    basis: str = Field(description="标准依据（文件名称与文号）")


class FeeItemOut(BaseModel):
    code: str = Field(description="收费项目编码")
    name: str = Field(description="收费项目名称")
    category: str = Field(description="非税收入类别")
    budget_subject: str = Field(description="政府收支分类科目编码")
    destination: str = Field(description="缴库方式：treasury 国库 / special_account 财政专户")
    unit_of_measure: str = Field(description="计量单位")
    legal_basis: str = Field(description="立项依据")
    valid_from: date | None = Field(default=None, description="项目起始日期（含）；null 表示不限")
    valid_to: date | None = Field(default=None, description="项目截止日期（含）；null 表示长期")
    split: list[ShareOut] = Field(description="预算级次分成")
    standards: list[StandardOut] = Field(description="收费标准及其历史（按起始日期）")


class ShareIn(BaseModel):
    level: Literal["central", "province", "city", "county"] = Field(
        description="预算级次：central 中央 / province 省 / city 市 / county 区县"
    )
    weight: StrictInt = Field(default=0, ge=0, le=1_000_000, description="比例权重（定额级次为 0）")
    fixed_fen: StrictInt | None = Field(
        default=None, ge=1, le=10**12, description="每笔定额（分）；按比例分成时不填"
    )


Fen = Annotated[StrictInt, Field(ge=1, le=10**12)]
CategoryCode = Literal[
    "admin_fee", "fine", "state_resource", "state_capital", "gov_fund", "special", "other"
]


class StandardIn(BaseModel):
    kind: Literal["fixed", "range", "decision"] = Field(
        description="标准类型：fixed 固定金额 / range 区间 / decision 按决定书"
    )
    amount_fen: Fen | None = Field(default=None, description="固定标准的金额（分）；仅 fixed")
    min_fen: Fen | None = Field(default=None, description="区间标准的下限（分）；仅 range")
    max_fen: Fen | None = Field(
        default=None, description="区间标准的上限（分）；decision 时为可选的上限"
    )
    valid_from: date = Field(description="起始日期（含）；新增标准不得早于今天")
    valid_to: date | None = Field(default=None, description="截止日期（含）；不填表示长期有效")
    basis: Short300 = Field(description="标准依据（文件名称与文号）")


class FeeItemIn(BaseModel):
    code: Short20 = Field(description="收费项目编码（2-20位大写字母或数字；幂等键）")
    name: Short200 = Field(description="收费项目名称")
    category: CategoryCode = Field(description="非税收入类别")
    budget_subject: Short20 = Field(description="政府收支分类科目编码")
    destination: Literal["treasury", "special_account"] = Field(
        description="缴库方式：treasury 国库 / special_account 财政专户"
    )
    unit_of_measure: Short20 = Field(description="计量单位（如 次、本、人）")
    legal_basis: Short300 = Field(description="立项依据")
    valid_from: date | None = Field(default=None, description="项目起始日期（含）；不填表示不限")
    valid_to: date | None = Field(default=None, description="项目截止日期（含）；不填表示长期")
    split: list[ShareIn] = Field(max_length=4, description="预算级次分成（保存时校验）")
    standards: list[StandardIn] = Field(
        min_length=1, max_length=20, description="收费标准（至少一个；有效期不得重叠）"
    )


class FeeItemPatch(BaseModel):
    name: Short200 | None = Field(default=None, description="新名称；不传则不变")
    category: CategoryCode | None = Field(default=None, description="非税收入类别；不传则不变")
    budget_subject: Short20 | None = Field(
        default=None, description="政府收支分类科目编码；不传则不变"
    )
    destination: Literal["treasury", "special_account"] | None = Field(
        default=None, description="缴库方式；不传则不变"
    )
    unit_of_measure: Short20 | None = Field(default=None, description="计量单位；不传则不变")
    legal_basis: Short300 | None = Field(default=None, description="立项依据；不传则不变")
    split: list[ShareIn] | None = Field(
        default=None,
        max_length=4,
        description="预算级次分成（保存时校验；只影响此后收到的缴款）；不传则不变",
    )


class GrantOut(BaseModel):
    unit_code: str = Field(description="执收单位编码")
    item_code: str = Field(description="收费项目编码")
    authorised: bool = Field(description="该单位现在是否获授权收取该项目")


def _item_out(item: FeeItem) -> FeeItemOut:
    return FeeItemOut(
        code=item.code,
        name=item.name,
        category=item.category.value,
        budget_subject=item.budget_subject,
        destination=item.destination.value,
        unit_of_measure=item.unit_of_measure,
        legal_basis=item.legal_basis,
        valid_from=item.valid_from,
        valid_to=item.valid_to,
        split=[
            ShareOut(level=s.level.value, weight=s.weight, fixed_fen=s.fixed_fen)
            for s in item.split.shares
        ],
        standards=[
            StandardOut(
                kind=s.kind.value,
                amount_fen=s.amount_fen,
                min_fen=s.min_fen,
                max_fen=s.max_fen,
                valid_from=s.valid_from,
                valid_to=s.valid_to,
                basis=s.basis,
            )
            for s in item.standards
        ],
    )


@router.get("/fee-items", response_model=list[FeeItemOut], summary="收费项目目录（含标准历史）")
def list_fee_items(
    client: ApiClient = Depends(finance_client), c: Container = Depends(container)
) -> list[FeeItemOut]:
    with c.read_uow() as uow:
        items = uow.catalogue.stored_items()
    return [_item_out(items[code]) for code in sorted(items)]


def _may_edit(c: Container, client: ApiClient) -> None:
    if not finance_actor(client).sees_region(c.settings.region_code):
        raise Forbidden("收费项目目录由平台所在区划的财政部门维护")


def _split(shares: list[ShareIn]) -> Split:
    """InvalidSplit (422) when it does not add up -- the console's rule."""
    return Split(tuple(LevelShare(BudgetLevel(s.level), s.weight, s.fixed_fen) for s in shares))


def _standard(body: StandardIn) -> Standard:
    """Only the amounts of its kind count (as in the console's form)."""
    kind = StandardKind(body.kind)
    return Standard(
        kind=kind,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        amount_fen=body.amount_fen if kind is StandardKind.FIXED else None,
        min_fen=body.min_fen if kind is StandardKind.RANGE else None,
        max_fen=body.max_fen if kind is not StandardKind.FIXED else None,
        basis=body.basis.strip(),
    )


def _stored_item(c: Container, item_code: str) -> FeeItem:
    with c.read_uow() as uow:
        item = uow.catalogue.stored_items().get(item_code)
    if item is None:
        raise NotFound(f"收费项目 {item_code} 不存在")
    return item


@router.post(
    "/fee-items",
    response_model=FeeItemOut,
    status_code=201,
    responses={200: {"model": FeeItemOut, "description": "同一项目已按相同内容创建（幂等）"}},
    summary="新增收费项目及其首个收费标准（按编码幂等；内容不同答 409）",
)
def create_fee_item(
    body: FeeItemIn,
    response: Response,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> FeeItemOut:
    _may_edit(c, client)
    item = FeeItem(
        code=body.code.strip(),
        name=body.name.strip(),
        category=Category(body.category),
        budget_subject=body.budget_subject.strip(),
        destination=Destination(body.destination),
        unit_of_measure=body.unit_of_measure.strip(),
        split=_split(body.split),
        standards=tuple(sorted((_standard(s) for s in body.standards), key=_starts)),
        legal_basis=body.legal_basis.strip(),
        valid_from=body.valid_from,
        valid_to=body.valid_to,
    )
    try:
        add_item(c.uow(), item, by=finance_actor(client), source=f"finance:{client.app_id}",
                 clock=c.clock)  # fmt: skip
    except Conflict:
        if _stored_item(c, item.code) != item:
            raise Conflict(
                f"项目编码 {item.code} 已存在且内容不同（修改项目请用 PATCH，调整价格请新增标准）",
                errors={"code": item.code},
            ) from None
        response.status_code = 200
    return _item_out(_stored_item(c, item.code))


def _starts(standard: Standard) -> date:
    return standard.valid_from


@router.post(
    "/fee-items/{item_code}/standards",
    response_model=FeeItemOut,
    status_code=201,
    responses={200: {"model": FeeItemOut, "description": "相同的标准已存在（幂等）"}},
    summary="为收费项目新增收费标准（自今天或以后起；有效期重叠答 409；不改变已开具的应缴款）",
)
def create_standard(
    item_code: ItemCode,
    body: StandardIn,
    response: Response,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> FeeItemOut:
    _may_edit(c, client)
    standard = _standard(body)
    try:
        add_standard(c.uow(), item_code, standard, by=finance_actor(client),
                     source=f"finance:{client.app_id}", clock=c.clock)  # fmt: skip
    except ValidationFailed:  # the same standard sent again (maybe once it has started): 200
        if standard not in _stored_item(c, item_code).standards:
            raise
        response.status_code = 200
    return _item_out(_stored_item(c, item_code))


@router.patch(
    "/fee-items/{item_code}",
    response_model=FeeItemOut,
    summary="修改收费项目（名称、类别、预算科目、缴库方式、分成；不改变已开具的应缴款）",
)
def patch_fee_item(
    item_code: ItemCode,
    body: FeeItemPatch,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> FeeItemOut:
    actor = finance_actor(client)
    _may_edit(c, client)
    split = None if body.split is None else _split(body.split)
    change = ItemChange(
        name=body.name,
        category=Category(body.category) if body.category else None,
        budget_subject=body.budget_subject,
        destination=Destination(body.destination) if body.destination else None,
        unit_of_measure=body.unit_of_measure,
        legal_basis=body.legal_basis,
        split=split,
    )
    edited = update_item(c.uow(), item_code, change, by=actor, source="api", clock=c.clock)
    return _item_out(edited)


def _unit_id(c: Container, client: ApiClient, unit_code: str) -> int:
    with c.read_uow() as uow:
        unit = uow.units.by_code(unit_code)
    if unit is None or not finance_actor(client).sees_unit(unit.id, unit.region_code):
        raise NotFound(f"执收单位 {unit_code} 不存在或不在本区划")
    return unit.id


@router.put(
    "/units/{unit_code}/items/{item_code}",
    response_model=GrantOut,
    summary="授权执收单位收取收费项目（幂等）",
)
def authorise_item(
    unit_code: UnitCode,
    item_code: ItemCode,
    client: ApiClient = Depends(finance_client),
    c: Container = Depends(container),
) -> GrantOut:
    unit_id = _unit_id(c, client, unit_code)
    with suppress(Conflict):  # granted before: the same answer
        grant_item(
            c.uow(),
            unit_id,
            item_code,
            by=finance_actor(client),
            source=f"finance:{client.app_id}",
            clock=c.clock,
        )
    return GrantOut(unit_code=unit_code, item_code=item_code, authorised=True)


@router.delete(
    "/units/{unit_code}/items/{item_code}",
    response_model=GrantOut,
    summary="撤销执收单位对收费项目的授权（幂等）",
)
def withdraw_item(
    unit_code: UnitCode,
    item_code: ItemCode,
    client: ApiClient = Depends(finance_client),
    c: Container = Depends(container),
) -> GrantOut:
    unit_id = _unit_id(c, client, unit_code)
    with c.read_uow() as uow:
        granted = item_code in uow.catalogue.stored_grants(unit_id)
    if granted:
        revoke_item(
            c.uow(),
            unit_id,
            item_code,
            by=finance_actor(client),
            source=f"finance:{client.app_id}",
            clock=c.clock,
        )
    return GrantOut(unit_code=unit_code, item_code=item_code, authorised=False)
