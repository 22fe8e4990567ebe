"""Finance administration API (issue 10): regions, collecting units, their sites and windows —
for a bureau's own systems that keep its organisation elsewhere and push it here.

Signed with a finance bureau's credential, which acts as a finance admin of its region: a city
bureau administers its districts' units; a unit, site or region out of its region answers 404,
like one that does not exist. The rules are the console's (`services.units.administration`):
one service for each edit, every change one transaction with its audit row (`finance:<app id>`,
before and after).

Idempotent by natural keys: creating a region, unit, site or window that exists with the same
content answers 200 with it (a unit's API secret is shown only at its first creation: rotate the
credential when it was lost), with other content 409; PATCH, close/reopen and disable/enable
set a state, so repeating them changes nothing more.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field, StringConstraints

from publicpay.adapters.crypto import sm2
from publicpay.adapters.db.queries.units import (
    SiteRow,
    UnitDetail,
    scoped_regions,
    scoped_unit_by_code,
    scoped_units,
    unit_sites,
)
from publicpay.api.auth import claimed_finance_client, finance_actor
from publicpay.api.deps import container
from publicpay.api.schemas import NO_CONTROLS
from publicpay.bootstrap import Container
from publicpay.domain.errors import Conflict, NotFound
from publicpay.domain.units import ApiClient, UnitDraft, Window
from publicpay.services.units.administration import (
    PlaceChange,
    UnitChange,
    add_region,
    add_site,
    add_unit,
    add_window,
    set_unit_active,
    update_site,
    update_unit,
    update_window,
)

router = APIRouter(prefix="/api/v1/admin", tags=["finance administration"])

UnitCode = Annotated[str, Path(pattern=r"^[0-9A-Za-z]{3,20}$", description="执收单位编码")]
SiteCode = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{2,20}$", description="网点编码")]
WindowNo = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,10}$", description="窗口号")]
Text = Annotated[str, StringConstraints(max_length=300, pattern=NO_CONTROLS)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
SOURCE = "api"


def exists(
    model: type[BaseModel], what: str = "已存在且内容相同（幂等重复）"
) -> dict[int | str, Any]:
    """The 200 answer of a create repeated with the same content (documented for clients)."""
    return {200: {"model": model, "description": what}}


# --- schemas --------------------------------------------------------------------------------------


class RegionIn(BaseModel):
    code: RegionCode = Field(description="行政区划代码（GB/T 2260，6位），须在本区划之下")
    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_CONTROLS)] = (
        Field(description="区划名称")
    )


class RegionOut(BaseModel):
    code: str = Field(description="行政区划代码（GB/T 2260，6位）")
    name: str = Field(description="区划名称")
    parent_code: str | None = Field(description="上级区划代码；省级为 null")


class WindowOut(BaseModel):
    number: str = Field(description="窗口号（如 01、A3）")
    name: str = Field(description="窗口名称（可为空）")
    active: bool = Field(description="是否开放（false：已关闭，不再开班收费）")


class SiteOut(BaseModel):
    code: str = Field(description="网点编码")
    name: str = Field(description="网点名称")
    kind: str = Field(
        description="网点类型：service_hall 办事大厅 / branch_office 分支机构 / "
        "convenience_point 便民服务点 / bank_branch 合作银行网点"
    )
    address: str = Field(description="网点地址")
    active: bool = Field(description="是否开放（false：已关闭）")
    windows: list[WindowOut] = Field(description="网点的编号窗口")


class UnitOut(BaseModel):
    code: str = Field(description="执收单位编码")
    name: str = Field(description="执收单位名称")
    region_code: str = Field(description="所属行政区划代码")
    credit_code: str = Field(description="统一社会信用代码（18位）")
    contact: str = Field(description="联系人与电话")
    active: bool = Field(description="是否启用（false：已停用，其业务系统凭证暂被拒绝）")
    created_at: datetime = Field(description="创建时间（UTC，ISO 8601）")


class UnitDetailOut(UnitOut):
    sites: list[SiteOut] = Field(description="单位的网点及其窗口")


class NewUnitOut(UnitOut):
    app_id: str = Field(description="单位业务系统的接口凭证 App ID")
    app_secret: str | None = Field(
        description="接口密钥，仅在首次创建时返回一次；重复创建时为 null（遗失请轮换凭证）"
    )


class UnitIn(BaseModel):
    code: Annotated[str, StringConstraints(max_length=20, pattern=NO_CONTROLS)] = Field(
        description="执收单位编码（3-20位字母或数字，创建后不可改）"
    )
    name: Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROLS)] = Field(
        description="执收单位名称（2-200个字）"
    )
    region_code: RegionCode = Field(description="所属行政区划代码（须在本区划之内且已存在）")
    credit_code: Annotated[str, StringConstraints(max_length=18, pattern=NO_CONTROLS)] = Field(
        description="统一社会信用代码（18位，含校验位）"
    )
    contact: Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROLS)] = Field(
        default="", description="联系人与电话（可空）"
    )


class UnitPatch(BaseModel):
    name: Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROLS)] | None = Field(
        default=None, description="新名称；不传则不变"
    )
    contact: Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROLS)] | None = Field(
        default=None, description="新的联系人与电话；不传则不变"
    )
    region_code: RegionCode | None = Field(
        default=None, description="新的所属区划（须在本区划之内）；不传则不变"
    )


class SiteIn(BaseModel):
    code: Annotated[str, StringConstraints(max_length=20, pattern=NO_CONTROLS)] = Field(
        description="网点编码（2-20位字母、数字、- 或 _，全平台唯一）"
    )
    name: Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROLS)] = Field(
        description="网点名称"
    )
    kind: Literal["service_hall", "branch_office", "convenience_point", "bank_branch"] = Field(
        description="网点类型"
    )
    address: Text = Field(default="", description="网点地址")


class SitePatch(BaseModel):
    name: Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROLS)] | None = Field(
        default=None, description="新名称；不传则不变"
    )
    address: Text | None = Field(default=None, description="新地址；不传则不变")


class WindowIn(BaseModel):
    number: Annotated[str, StringConstraints(max_length=10, pattern=NO_CONTROLS)] = Field(
        description="窗口号（1-10位字母、数字或 -，网点内唯一）"
    )
    name: Annotated[str, StringConstraints(max_length=100, pattern=NO_CONTROLS)] = Field(
        default="", description="窗口名称（可空）"
    )


class WindowPatch(BaseModel):
    name: Annotated[str, StringConstraints(max_length=100, pattern=NO_CONTROLS)] = Field(
        description="窗口的新名称（可为空）"
    )


# --- helpers --------------------------------------------------------------------------------------


def unit_in_scope(c: Container, client: ApiClient, code: str) -> UnitDetail:
    """The unit with this code in the credential's region, or 404."""
    with c.read_uow() as uow:
        found = scoped_unit_by_code(uow.connection, finance_actor(client), code)
    if found is None:
        raise NotFound(f"执收单位 {code} 不存在或不在本区划")
    return found


def _sites(c: Container, unit: UnitDetail) -> list[SiteRow]:
    with c.read_uow() as uow:
        return unit_sites(uow.connection, unit.id)


def _site(c: Container, unit: UnitDetail, code: str) -> SiteRow:
    found = next((s for s in _sites(c, unit) if s.code == code), None)
    if found is None:
        raise NotFound(f"网点 {code} 不存在或不属于单位 {unit.code}")
    return found


def _window(site: SiteRow, number: str) -> Window:
    found = next((w for w in site.windows if w.number == number), None)
    if found is None:
        raise NotFound(f"窗口 {number} 不存在于网点 {site.code}")
    return found


def _unit_out(unit: UnitDetail) -> UnitOut:
    return UnitOut(
        code=unit.code,
        name=unit.name,
        region_code=unit.region_code,
        credit_code=unit.credit_code,
        contact=unit.contact,
        active=unit.active,
        created_at=unit.created_at,
    )


def _window_out(window: Window) -> WindowOut:
    return WindowOut(number=window.number, name=window.name, active=window.active)


def _site_out(site: SiteRow) -> SiteOut:
    return SiteOut(
        code=site.code,
        name=site.name,
        kind=site.kind.value,
        address=site.address,
        active=site.active,
        windows=[_window_out(w) for w in site.windows],
    )


def _detail_out(c: Container, client: ApiClient, code: str) -> UnitDetailOut:
    unit = unit_in_scope(c, client, code)
    sites = [_site_out(s) for s in _sites(c, unit)]
    return UnitDetailOut(**_unit_out(unit).model_dump(), sites=sites)


# --- regions --------------------------------------------------------------------------------------


@router.get("/regions", response_model=list[RegionOut], summary="行政区划列表（本区划及以下）")
def list_regions(
    client: ApiClient = Depends(claimed_finance_client), c: Container = Depends(container)
) -> list[RegionOut]:
    with c.read_uow() as uow:
        rows = scoped_regions(uow.connection, finance_actor(client))
    return [RegionOut(code=code, name=name, parent_code=parent) for code, name, parent in rows]


@router.post(
    "/regions",
    response_model=RegionOut,
    status_code=201,
    responses=exists(RegionOut),
    summary="新增下级行政区划（幂等：同代码同名称答 200）",
)
def create_region(
    body: RegionIn,
    response: Response,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> RegionOut:
    actor = finance_actor(client)
    try:
        add_region(c.uow(), body.code, body.name, by=actor, source=SOURCE, clock=c.clock)
    except Conflict:
        with c.read_uow() as uow:
            found = uow.units.region(body.code)
        if found is None or found.name != body.name.strip():
            raise
        response.status_code = 200
    with c.read_uow() as uow:
        region = uow.units.region(body.code)
    assert region is not None
    return RegionOut(code=region.code, name=region.name, parent_code=region.parent_code)


# --- units ----------------------------------------------------------------------------------------


@router.get("/units", response_model=list[UnitOut], summary="执收单位列表（本区划及以下）")
def list_units(
    client: ApiClient = Depends(claimed_finance_client), c: Container = Depends(container)
) -> list[UnitOut]:
    with c.read_uow() as uow:
        rows = scoped_units(uow.connection, finance_actor(client))
    return [_unit_out(u) for u in rows]


@router.post(
    "/units",
    response_model=NewUnitOut,
    status_code=201,
    responses=exists(NewUnitOut),
    summary="新增执收单位（生成票据签名密钥与接口凭证；密钥只返回一次）",
)
def create_unit(
    body: UnitIn,
    response: Response,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> NewUnitOut:
    draft = UnitDraft(body.code, body.name, body.region_code, body.credit_code, body.contact)
    secret: str | None = None
    try:
        made = add_unit(c.uow(), draft, sm2.generate_private_key_pem, by=finance_actor(client),
                        source=SOURCE, clock=c.clock)  # fmt: skip
        secret = made.app_secret
    except Conflict:
        with suppress(NotFound):
            _same_unit(unit_in_scope(c, client, body.code), draft)
            response.status_code = 200
        if response.status_code != 200:
            raise
    unit = unit_in_scope(c, client, body.code)
    return NewUnitOut(**_unit_out(unit).model_dump(), app_id=f"pp_{unit.code}", app_secret=secret)


def _same_unit(unit: UnitDetail, draft: UnitDraft) -> None:
    """A repeated creation: the stored unit must be the one asked for (409 otherwise)."""
    asked = (draft.name.strip(), draft.region_code, draft.credit_code.strip().upper())
    if (unit.name, unit.region_code, unit.credit_code) != asked:
        raise Conflict(f"单位编码 {unit.code} 已存在（内容不同）", errors={"code": unit.code})


@router.get(
    "/units/{unit_code}", response_model=UnitDetailOut, summary="执收单位详情（含网点与窗口）"
)
def get_unit(
    unit_code: UnitCode,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> UnitDetailOut:
    return _detail_out(c, client, unit_code)


@router.patch(
    "/units/{unit_code}",
    response_model=UnitDetailOut,
    summary="修改执收单位（名称、联系人、所属区划）",
)
def patch_unit(
    unit_code: UnitCode,
    body: UnitPatch,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> UnitDetailOut:
    unit = unit_in_scope(c, client, unit_code)
    change = UnitChange(body.name, body.contact, body.region_code)
    update_unit(c.uow(), unit.id, change, by=finance_actor(client), source=SOURCE, clock=c.clock)
    return _detail_out(c, client, unit_code)


def _set_active(c: Container, client: ApiClient, unit_code: str, active: bool) -> UnitDetailOut:
    unit = unit_in_scope(c, client, unit_code)
    set_unit_active(c.uow(), unit.id, active, by=finance_actor(client), source=SOURCE,
                    clock=c.clock)  # fmt: skip
    c.client_cache.clear()  # its credentials are refused (or accepted again) at once here
    return _detail_out(c, client, unit_code)


@router.post(
    "/units/{unit_code}/disable",
    response_model=UnitDetailOut,
    summary="停用执收单位（其业务系统凭证随即被拒绝；幂等）",
)
def disable_unit(
    unit_code: UnitCode,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> UnitDetailOut:
    return _set_active(c, client, unit_code, False)


@router.post(
    "/units/{unit_code}/enable", response_model=UnitDetailOut, summary="重新启用执收单位（幂等）"
)
def enable_unit(
    unit_code: UnitCode,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> UnitDetailOut:
    return _set_active(c, client, unit_code, True)


# --- sites and windows ----------------------------------------------------------------------------


@router.post(
    "/units/{unit_code}/sites",
    response_model=SiteOut,
    status_code=201,
    responses=exists(SiteOut),
    summary="新增网点（办事大厅、分支机构、便民服务点；幂等：同编码同内容答 200）",
)
def create_site(
    unit_code: UnitCode,
    body: SiteIn,
    response: Response,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> SiteOut:
    unit = unit_in_scope(c, client, unit_code)
    try:
        add_site(c.uow(), unit.id, body.code, body.name, body.kind, body.address,
                 by=finance_actor(client), source=SOURCE, clock=c.clock)  # fmt: skip
    except Conflict:
        found = next((s for s in _sites(c, unit) if s.code == body.code), None)
        asked = (body.name.strip(), body.kind, body.address.strip())
        if found is None or (found.name, found.kind.value, found.address) != asked:
            raise
        response.status_code = 200
    return _site_out(_site(c, unit, body.code))


@router.patch(
    "/units/{unit_code}/sites/{site_code}", response_model=SiteOut, summary="修改网点（名称、地址）"
)
def patch_site(
    unit_code: UnitCode,
    site_code: SiteCode,
    body: SitePatch,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> SiteOut:
    return _change_site(c, client, unit_code, site_code, PlaceChange(body.name, body.address))


def _change_site(
    c: Container, client: ApiClient, unit_code: str, site_code: str, change: PlaceChange
) -> SiteOut:
    unit = unit_in_scope(c, client, unit_code)
    site = _site(c, unit, site_code)
    update_site(c.uow(), site.id, change, by=finance_actor(client), source=SOURCE, clock=c.clock)
    return _site_out(_site(c, unit, site_code))


@router.post(
    "/units/{unit_code}/sites/{site_code}/close", response_model=SiteOut, summary="关闭网点（幂等）"
)
def close_site(
    unit_code: UnitCode,
    site_code: SiteCode,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> SiteOut:
    return _change_site(c, client, unit_code, site_code, PlaceChange(active=False))


@router.post(
    "/units/{unit_code}/sites/{site_code}/reopen",
    response_model=SiteOut,
    summary="重新开放网点（幂等）",
)
def reopen_site(
    unit_code: UnitCode,
    site_code: SiteCode,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> SiteOut:
    return _change_site(c, client, unit_code, site_code, PlaceChange(active=True))


@router.post(
    "/units/{unit_code}/sites/{site_code}/windows",
    response_model=WindowOut,
    status_code=201,
    responses=exists(WindowOut),
    summary="新增编号窗口（幂等：同窗口号同名称答 200）",
)
def create_window(
    unit_code: UnitCode,
    site_code: SiteCode,
    body: WindowIn,
    response: Response,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> WindowOut:
    unit = unit_in_scope(c, client, unit_code)
    site = _site(c, unit, site_code)
    try:
        add_window(c.uow(), site.id, body.number, body.name, by=finance_actor(client),
                   source=SOURCE, clock=c.clock)  # fmt: skip
    except Conflict:
        found = next((w for w in site.windows if w.number == body.number), None)
        if found is None or found.name != body.name.strip():
            raise
        response.status_code = 200
    return _window_out(_window(_site(c, unit, site_code), body.number))


def _change_window(
    c: Container,
    client: ApiClient,
    path: tuple[str, str, str],
    change: PlaceChange,
) -> WindowOut:
    unit_code, site_code, number = path
    unit = unit_in_scope(c, client, unit_code)
    window = _window(_site(c, unit, site_code), number)
    done = update_window(c.uow(), window.id, change, by=finance_actor(client), source=SOURCE,
                         clock=c.clock)  # fmt: skip
    return _window_out(done)


@router.patch(
    "/units/{unit_code}/sites/{site_code}/windows/{number}",
    response_model=WindowOut,
    summary="修改窗口名称",
)
def patch_window(
    unit_code: UnitCode,
    site_code: SiteCode,
    number: WindowNo,
    body: WindowPatch,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> WindowOut:
    path = (unit_code, site_code, number)
    return _change_window(c, client, path, PlaceChange(name=body.name))


@router.post(
    "/units/{unit_code}/sites/{site_code}/windows/{number}/close",
    response_model=WindowOut,
    summary="关闭窗口（幂等）",
)
def close_window(
    unit_code: UnitCode,
    site_code: SiteCode,
    number: WindowNo,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> WindowOut:
    path = (unit_code, site_code, number)
    return _change_window(c, client, path, PlaceChange(active=False))


@router.post(
    "/units/{unit_code}/sites/{site_code}/windows/{number}/reopen",
    response_model=WindowOut,
    summary="重新开放窗口（幂等）",
)
def reopen_window(
    unit_code: UnitCode,
    site_code: SiteCode,
    number: WindowNo,
    client: ApiClient = Depends(claimed_finance_client),
    c: Container = Depends(container),
) -> WindowOut:
    path = (unit_code, site_code, number)
    return _change_window(c, client, path, PlaceChange(active=True))
