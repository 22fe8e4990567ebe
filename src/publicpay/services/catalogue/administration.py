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

from typing import Protocol

from publicpay.domain.access import Actor
from publicpay.domain.catalogue import FeeItem, Standard, item_problems, new_standard_history
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
