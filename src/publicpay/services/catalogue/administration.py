"""Editing the fee catalogue (issue 10): new items with their budget split validated on save,
new standards joining the item's history, and unit authorisations (which items a unit may
collect).

A new standard starts today or later and closes the open-ended one the day before it starts; a
standard whose dates overlap another is refused. Payables keep the standard they were priced
with (`payable_lines.standard_fen`), so no issued payable ever changes. Every edit is one
transaction with its audit row; the process cache is refreshed at once (other processes within
its time to live).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from publicpay.domain.access import Actor
from publicpay.domain.catalogue import (
    Category,
    Destination,
    FeeItem,
    Split,
    Standard,
    item_problems,
    new_standard_history,
)
from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.domain.time import business_date
from publicpay.domain.units import Unit
from publicpay.services.catalogue.ports import CatalogueAdminRepo
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork


class CatalogueAdminUnitOfWork(UnitOfWork, Protocol):
    @property
    def catalogue(self) -> CatalogueAdminRepo: ...


def _standard_json(standard: Standard) -> dict[str, object]:
    return {
        "kind": standard.kind.value,
        "amount_fen": standard.amount_fen,
        "min_fen": standard.min_fen,
        "max_fen": standard.max_fen,
        "valid_from": standard.valid_from.isoformat(),
        "valid_to": standard.valid_to.isoformat() if standard.valid_to else None,
        "basis": standard.basis,
    }


def add_item(
    uow: CatalogueAdminUnitOfWork, item: FeeItem, *, by: Actor, source: str, clock: Clock
) -> None:
    """A new fee item with its first standard(s); its split was validated when it was built."""
    errors = item_problems(item)
    if errors:
        raise ValidationFailed("收费项目有误：" + "；".join(errors.values()), errors=errors)
    now = clock.now()
    with uow:
        if item.code in uow.catalogue.stored_items():
            raise Conflict(f"项目编码 {item.code} 已存在", errors={"code": item.code})
        uow.catalogue.add_item(item, at=now, by=by.audit_name)
        after = {
            "name": item.name,
            "category": item.category.value,
            "budget_subject": item.budget_subject,
            "destination": item.destination.value,
            "split": [[s.level.value, s.weight, s.fixed_fen] for s in item.split.shares],
            "standards": [_standard_json(s) for s in item.standards],
        }
        uow.audit.append(by.audit_name, "catalogue.item_added", item.code,
                         {"from": source, "after": after}, now)  # fmt: skip
        uow.commit()


@dataclass(frozen=True, slots=True)
class ItemChange:
    """A fee item's new attributes (None: unchanged). The split was validated when built."""

    name: str | None = None
    category: Category | None = None
    budget_subject: str | None = None
    destination: Destination | None = None
    unit_of_measure: str | None = None
    legal_basis: str | None = None
    split: Split | None = None


def _item_json(item: FeeItem) -> dict[str, object]:
    return {
        "name": item.name,
        "category": item.category.value,
        "budget_subject": item.budget_subject,
        "destination": item.destination.value,
        "unit_of_measure": item.unit_of_measure,
        "legal_basis": item.legal_basis,
        "split": [[s.level.value, s.weight, s.fixed_fen] for s in item.split.shares],
    }


def update_item(
    uow: CatalogueAdminUnitOfWork,
    item_code: str,
    change: ItemChange,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> FeeItem:
    """Edit an item's name, category, budget subject, destination, unit, basis or split.

    Validated like a new item. Its standards are not touched (prices change by a new standard,
    never backwards), and issued payables keep the amounts they were priced with; a new split
    applies to payments received from now on. Audited with the changed fields before and after;
    an edit that changes nothing writes nothing."""
    with uow:
        item = uow.catalogue.stored_items().get(item_code)
        if item is None:
            raise NotFound(f"收费项目 {item_code} 不存在")
        fields: dict[str, Any] = {
            k: (v.strip() if type(v) is str else v)  # enums (StrEnum) stay
            for k in ItemChange.__slots__
            if (v := getattr(change, k)) is not None
        }
        edited = replace(item, **fields)
        errors = {k: v for k, v in item_problems(edited).items() if k in fields}
        if errors:
            raise ValidationFailed("收费项目有误：" + "；".join(errors.values()), errors=errors)
        before, after = _item_json(item), _item_json(edited)
        keys = [k for k in after if before[k] != after[k]]
        if keys:
            uow.catalogue.update_item(edited)
            detail = {"from": source, "before": {k: before[k] for k in keys},
                      "after": {k: after[k] for k in keys}}  # fmt: skip
            uow.audit.append(by.audit_name, "catalogue.item_updated", item_code, detail,
                             clock.now())  # fmt: skip
        uow.commit()
    return edited


def add_standard(
    uow: CatalogueAdminUnitOfWork,
    item_code: str,
    standard: Standard,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> Standard | None:
    """Add a standard to an item's history; returns the standard it closed, if any."""
    now = clock.now()
    with uow:
        item = uow.catalogue.stored_items().get(item_code)
        if item is None:
            raise NotFound(f"收费项目 {item_code} 不存在")
        closed, new = new_standard_history(item.standards, standard, business_date(now))
        detail: dict[str, object] = {"from": source, "after": _standard_json(new)}
        if closed is not None:
            uow.catalogue.end_standard(
                item_code, closed.valid_from, closed.valid_to or new.valid_from
            )
            detail["closed"] = _standard_json(closed)
        uow.catalogue.add_standard(item_code, new, at=now, by=by.audit_name)
        uow.audit.append(by.audit_name, "catalogue.standard_added", item_code, detail, now)
        uow.commit()
    return closed


def _unit_in_scope(uow: CatalogueAdminUnitOfWork, by: Actor, unit_id: int) -> Unit:
    unit = uow.units.get(unit_id)
    if unit is None or not by.sees_unit(unit.id, unit.region_code):
        raise NotFound("该单位不存在或不在您的管辖范围内")
    return unit


def grant_item(
    uow: CatalogueAdminUnitOfWork,
    unit_id: int,
    item_code: str,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> None:
    """Authorise a unit in the admin's scope to collect an item."""
    now = clock.now()
    with uow:
        unit = _unit_in_scope(uow, by, unit_id)
        if item_code not in uow.catalogue.stored_items():
            raise NotFound(f"收费项目 {item_code} 不存在")
        if item_code in uow.catalogue.stored_grants(unit_id):
            raise Conflict(f"单位已获授权收取项目 {item_code}", errors={"item_code": item_code})
        uow.catalogue.authorise(unit_id, (item_code,))
        uow.audit.append(by.audit_name, "catalogue.item_granted", unit.code,
                         {"from": source, "after": {"item": item_code}}, now)  # fmt: skip
        uow.commit()


def revoke_item(
    uow: CatalogueAdminUnitOfWork,
    unit_id: int,
    item_code: str,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> None:
    """Withdraw a unit's authorisation (payables already registered keep their items)."""
    now = clock.now()
    with uow:
        unit = _unit_in_scope(uow, by, unit_id)
        if not uow.catalogue.revoke(unit_id, item_code):
            raise NotFound(f"单位未获授权收取项目 {item_code}")
        uow.audit.append(by.audit_name, "catalogue.item_revoked", unit.code,
                         {"from": source, "before": {"item": item_code}}, now)  # fmt: skip
        uow.commit()
