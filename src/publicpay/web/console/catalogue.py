"""收费项目目录 (fee catalogue) screens, issue 10: items with category, budget subject,
destination, budget-level split (validated on save), legal basis and validity; each item's
standards with their history; a new standard added from today on closes the one in force; an
item's name, category, budget subject, destination, unit, basis and split edited (validated on
save, audited before and after; issued payables keep their amounts, a new split applies to
payments received from then on — the API's rule, `services.catalogue.administration`).

A finance admin of the platform's region (or above) edits the catalogue; reviewers and
auditors read it; a unit admin reads the items its unit is authorised to collect (another
item answers 404). Unit authorisations are granted on the unit's page (`web.console.units`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.bootstrap import Container
from publicpay.domain.access import Permission
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
from publicpay.domain.errors import DomainError, ValidationFailed
from publicpay.domain.money import InvalidAmount, Money
from publicpay.domain.time import business_date
from publicpay.services.catalogue.administration import (
    ItemChange,
    add_item,
    add_standard,
    update_item,
)
from publicpay.web.console.pages import (
    NO_CONTROLS,
    PATH,
    PageRefused,
    Viewer,
    check_csrf,
    container,
    form_status,
    render,
    require,
    source,
    viewer,
)

router = APIRouter(prefix=PATH, include_in_schema=False)
Short = Annotated[str, Form(max_length=20, pattern=NO_CONTROLS)]
Text = Annotated[str, Form(max_length=300, pattern=NO_CONTROLS)]
KIND_LABELS = {
    StandardKind.FIXED: "固定金额",
    StandardKind.RANGE: "区间（单位在上下限内定额）",
    StandardKind.DECISION: "按决定书（可设上限）",
}
DESTINATION_LABELS = {Destination.TREASURY: "国库", Destination.SPECIAL_ACCOUNT: "财政专户"}


def _visible_items(c: Container, v: Viewer) -> dict[str, FeeItem]:
    """The catalogue for finance roles and auditors; a unit's authorised items for its users."""
    with c.read_uow() as uow:
        items = uow.catalogue.items()
        if v.actor.unit_id is None:
            return dict(items)
        granted = uow.catalogue.authorised(v.actor.unit_id)
    return {code: item for code, item in items.items() if code in granted}


def _may_edit(c: Container, v: Viewer) -> bool:
    """The catalogue is the platform's: edited by a finance admin of its region or above."""
    return v.actor.can(Permission.MANAGE_CATALOGUE) and v.actor.sees_region(c.settings.region_code)


def _context(c: Container, v: Viewer) -> dict[str, Any]:
    return {
        "categories": list(Category),
        "destinations": DESTINATION_LABELS,
        "levels": list(BudgetLevel),
        "kinds": KIND_LABELS,
        "editable": _may_edit(c, v),
        "today": business_date(c.clock.now()).isoformat(),
        "today_date": business_date(c.clock.now()),
    }


def _list_page(
    request: Request, c: Container, v: Viewer, *, status: int = 200, **extra: Any
) -> Response:
    items = sorted(_visible_items(c, v).values(), key=lambda i: i.code)
    context = {**_context(c, v), "items": items, **extra}
    return render(request, "catalogue.html", context, viewer=v, status=status)


@router.get("/catalogue")
def catalogue_page(
    request: Request, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.VIEW_CATALOGUE)
    return _list_page(request, c, v)


def _yuan(text: str, field: str) -> int | None:
    if not text.strip():
        return None
    try:
        fen = Money.from_yuan(text).fen
    except InvalidAmount:
        raise ValidationFailed(
            f"金额格式有误：{text}（元，最多两位小数）", errors={field: text}
        ) from None
    if fen <= 0:
        raise ValidationFailed("金额应大于0", errors={field: text})
    return fen


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"日期格式有误：{text}", errors={field: text}) from None


def _standard(form: dict[str, str]) -> Standard:
    try:
        kind = StandardKind(form.get("kind", ""))
    except ValueError:
        raise ValidationFailed("收费标准类型无效", errors={"kind": form.get("kind", "")}) from None
    valid_from = _day(form.get("valid_from", ""), "valid_from")
    if valid_from is None:
        raise ValidationFailed("须填写标准的起始日期", errors={"valid_from": ""})
    return Standard(
        kind=kind,
        valid_from=valid_from,
        valid_to=_day(form.get("valid_to", ""), "valid_to"),
        amount_fen=_yuan(form.get("amount", ""), "amount") if kind is StandardKind.FIXED else None,
        min_fen=_yuan(form.get("min", ""), "min") if kind is StandardKind.RANGE else None,
        max_fen=_yuan(form.get("max", ""), "max") if kind is not StandardKind.FIXED else None,
        basis=form.get("basis", "").strip(),
    )


def _split(form: dict[str, str]) -> Split:
    shares = []
    for level in BudgetLevel:
        weight_text = form.get(f"w_{level.value}", "").strip() or "0"
        if not (weight_text.isascii() and weight_text.isdigit()) or len(weight_text) > 6:
            raise ValidationFailed(
                f"{level.label}级的比例权重应为非负整数", errors={f"w_{level.value}": weight_text}
            )
        fixed = _yuan(form.get(f"f_{level.value}", ""), f"f_{level.value}")
        if int(weight_text) or fixed is not None:
            shares.append(LevelShare(level, weight=int(weight_text), fixed_fen=fixed))
    return Split(tuple(shares))  # InvalidSplit (a ValidationFailed) when it does not add up


async def _fields(request: Request) -> dict[str, str]:
    """The posted form as short plain strings (anything else is refused as bad input)."""
    form = await request.form()
    fields: dict[str, str] = {}
    for key, value in form.items():
        if not isinstance(value, str) or len(value) > 300 or any(ord(ch) < 32 for ch in value):
            raise ValidationFailed("提交的内容有误（字段过长或含有控制字符）", errors={key: ""})
        fields[key[:40]] = value
    return fields


@router.post("/catalogue")
async def create_item(
    request: Request, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.MANAGE_CATALOGUE)
    try:
        form = await _fields(request)
    except ValidationFailed as exc:
        return _list_page(request, c, v, status=422, error=exc.detail)
    check_csrf(v.csrf, form.get("csrf", ""))
    if not _may_edit(c, v):
        raise PageRefused(403, "收费项目目录由平台所在区划的财政管理员维护")
    try:
        item = FeeItem(
            code=form.get("code", "").strip().upper(),
            name=form.get("name", "").strip(),
            category=_choice(Category, form.get("category", ""), "category"),
            budget_subject=form.get("budget_subject", "").strip(),
            destination=_choice(Destination, form.get("destination", ""), "destination"),
            unit_of_measure=form.get("unit_of_measure", "").strip(),
            split=_split(form),
            standards=(_standard(form),),
            legal_basis=form.get("legal_basis", "").strip(),
            valid_from=_day(form.get("item_from", ""), "item_from"),
            valid_to=_day(form.get("item_to", ""), "item_to"),
        )
        add_item(c.uow(), item, by=v.actor, source=source(request), clock=c.clock)
    except DomainError as exc:
        return _list_page(request, c, v, status=form_status(exc), error=exc.detail, form=form)
    return RedirectResponse(f"{PATH}/catalogue/{item.code}?done=item", status_code=303)


def _choice(enum: Any, value: str, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise ValidationFailed("选项无效", errors={field: value}) from None


def _item_page(
    request: Request, c: Container, v: Viewer, code: str, *, status: int = 200, **extra: Any
) -> Response:
    item = _visible_items(c, v).get(code)
    if item is None:
        raise PageRefused(404, "该收费项目不存在或不在您的授权范围内")
    context = {**_context(c, v), "item": item, **extra}
    return render(request, "catalogue_item.html", context, viewer=v, status=status)


@router.get("/catalogue/{code}")
def item_page(
    request: Request,
    code: str,
    done: str = "",
    v: Viewer = Depends(viewer),
    c: Container = Depends(container),
) -> Response:
    require(v, Permission.VIEW_CATALOGUE)
    return _item_page(request, c, v, code[:20], done=done[:20])


@router.post("/catalogue/{code}/standards")
async def create_standard(
    request: Request, code: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.MANAGE_CATALOGUE)
    code = code[:20]
    try:
        form = await _fields(request)
    except ValidationFailed as exc:
        return _item_page(request, c, v, code, status=422, error=exc.detail)
    check_csrf(v.csrf, form.get("csrf", ""))
    if not _may_edit(c, v):
        raise PageRefused(403, "收费项目目录由平台所在区划的财政管理员维护")
    _item_page(request, c, v, code)  # 404 when it does not exist
    try:
        add_standard(c.uow(), code, _standard(form), by=v.actor, source=source(request),
                     clock=c.clock)  # fmt: skip
    except DomainError as exc:
        return _item_page(request, c, v, code, status=form_status(exc), error=exc.detail, form=form)
    return RedirectResponse(f"{PATH}/catalogue/{code}?done=standard", status_code=303)


# --- editing an item (issue 10) -----------------------------------------------------------------


def _split_form(item: FeeItem) -> dict[str, str]:
    """The split as the form's fields (w_<level>, f_<level> in yuan)."""
    fields: dict[str, str] = {}
    for share in item.split.shares:
        fields[f"w_{share.level.value}"] = str(share.weight) if share.weight else ""
        if share.fixed_fen is not None:
            fields[f"f_{share.level.value}"] = Money(share.fixed_fen).to_yuan()
    return fields


def _item_form(item: FeeItem) -> dict[str, str]:
    return {
        "name": item.name,
        "category": item.category.value,
        "budget_subject": item.budget_subject,
        "destination": item.destination.value,
        "unit_of_measure": item.unit_of_measure,
        "legal_basis": item.legal_basis,
        **_split_form(item),
    }


def _edit_page(
    request: Request, c: Container, v: Viewer, code: str, *, status: int = 200,
    form: dict[str, str] | None = None, **extra: Any,
) -> Response:  # fmt: skip
    if not _may_edit(c, v):
        raise PageRefused(403, "收费项目目录由平台所在区划的财政管理员维护")
    item = _visible_items(c, v).get(code)
    if item is None:
        raise PageRefused(404, "该收费项目不存在或不在您的授权范围内")
    context = {**_context(c, v), "item": item, "form": form or _item_form(item), **extra}
    return render(request, "catalogue_edit.html", context, viewer=v, status=status)


@router.get("/catalogue/{code}/edit")
def item_edit_page(
    request: Request, code: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.MANAGE_CATALOGUE)
    return _edit_page(request, c, v, code[:20])


@router.post("/catalogue/{code}/edit")
async def edit_item(
    request: Request, code: str, v: Viewer = Depends(viewer), c: Container = Depends(container)
) -> Response:
    require(v, Permission.MANAGE_CATALOGUE)
    code = code[:20]
    try:
        form = await _fields(request)
    except ValidationFailed as exc:
        return _edit_page(request, c, v, code, status=422, error=exc.detail)
    check_csrf(v.csrf, form.get("csrf", ""))
    _edit_page(request, c, v, code)  # 403 / 404 before anything else
    try:
        change = ItemChange(
            name=form.get("name", ""),
            category=_choice(Category, form.get("category", ""), "category"),
            budget_subject=form.get("budget_subject", ""),
            destination=_choice(Destination, form.get("destination", ""), "destination"),
            unit_of_measure=form.get("unit_of_measure", ""),
            legal_basis=form.get("legal_basis", ""),
            split=_split(form),
        )
        update_item(c.uow(), code, change, by=v.actor, source=source(request), clock=c.clock)
    except DomainError as exc:
        return _edit_page(request, c, v, code, status=form_status(exc), error=exc.detail,
                          form=form)  # fmt: skip
    return RedirectResponse(f"{PATH}/catalogue/{code}?done=edited", status_code=303)
