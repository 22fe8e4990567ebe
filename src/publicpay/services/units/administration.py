"""Setting a bureau up (issue 10): the bureau's region and signing key (`publicpay init`),
regions below it, collecting units with their receipt signing key and business-system
credential, their sites and numbered windows.

Scope: a finance admin acts in its region and below (`Actor.sees_region`); a unit, site or
region outside it answers NotFound. Every change is one transaction with its audit row (who,
from where, after).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from publicpay.domain.access import Actor, region_parent, validate_region_code
from publicpay.domain.codes import normalise_credit_code
from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.domain.units import (
    Site,
    SiteKind,
    Unit,
    UnitDraft,
    Window,
    name_problems,
    site_problems,
    unit_change_problems,
    window_problems,
)
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork
from publicpay.services.units.ports import UnitsAdminRepo

NewKey = Callable[[], bytes]  # a new SM2 private key (PEM) for receipt signing


class UnitsAdminUnitOfWork(UnitOfWork, Protocol):
    @property
    def units(self) -> UnitsAdminRepo: ...


@dataclass(frozen=True, slots=True)
class Prepared:
    region_code: str
    regions_added: tuple[str, ...]
    finance_key_added: bool


@dataclass(frozen=True, slots=True)
class NewUnit:
    id: int
    code: str
    app_id: str
    app_secret: str  # shown once to the finance admin, for the unit's business system


def prepare_bureau(
    uow: UnitsAdminUnitOfWork, region_code: str, region_name: str, new_key: NewKey, *, clock: Clock
) -> Prepared:
    """The bureau's region (with the regions above it) and its finance signing key, when
    missing; running it again changes nothing."""
    validate_region_code(region_code)
    now = clock.now()
    chain = _chain(region_code)
    with uow:
        added = []
        for code in reversed(chain):  # the province first
            if uow.units.region(code) is None:
                name = region_name if code == region_code else f"行政区划{code}"
                uow.units.add_region(code, name, region_parent(code))
                added.append(code)
        has_key = any(
            k.signer == "finance" and k.owner == region_code and k.active
            for k in uow.receipts.keys()  # noqa: SIM118 - signing keys, not a dict
        )
        if not has_key:
            key_id = uow.receipts.add_key("finance", region_code, new_key(), now)
            uow.audit.append("cli:init", "receipt.key_installed", f"finance:{region_code}",
                             {"key": key_id}, now)  # fmt: skip
        if added or not has_key:
            detail = {"regions": added, "finance_key": not has_key}
            uow.audit.append("cli:init", "platform.initialised", region_code, detail, now)
        uow.commit()
    return Prepared(region_code, tuple(added), not has_key)


def _chain(region_code: str) -> list[str]:
    chain = [region_code]
    while (parent := region_parent(chain[-1])) is not None:
        chain.append(parent)
    return chain


def add_region(
    uow: UnitsAdminUnitOfWork, code: str, name: str, *, by: Actor, source: str, clock: Clock
) -> None:
    """A region below the admin's own (its parent must exist: a district under its city)."""
    validate_region_code(code)
    if not 1 <= len(name.strip()) <= 100:
        raise ValidationFailed("区划名称应为1-100个字", errors={"name": name})
    parent = region_parent(code)
    if not by.sees_region(code) or code == by.region_code:
        raise NotFound("该行政区划不在您的管辖范围内")
    with uow:
        if uow.units.region(code) is not None:
            raise Conflict(f"行政区划 {code} 已存在", errors={"code": code})
        if parent is None or uow.units.region(parent) is None:
            raise ValidationFailed(f"上级区划 {parent} 不存在，请先添加上级区划")
        uow.units.add_region(code, name.strip(), parent)
        detail = {"from": source, "after": {"name": name.strip(), "parent": parent}}
        uow.audit.append(by.audit_name, "region.added", code, detail, clock.now())
        uow.commit()


def rename_region(
    uow: UnitsAdminUnitOfWork, code: str, name: str, *, by: Actor, source: str, clock: Clock
) -> None:
    if not 1 <= len(name.strip()) <= 100:
        raise ValidationFailed("区划名称应为1-100个字", errors={"name": name})
    with uow:
        region = uow.units.region(code) if by.sees_region(code) else None
        if region is None:
            raise NotFound("该行政区划不存在或不在您的管辖范围内")
        uow.units.rename_region(code, name.strip())
        detail = {"from": source, "before": {"name": region.name}, "after": {"name": name.strip()}}
        uow.audit.append(by.audit_name, "region.renamed", code, detail, clock.now())
        uow.commit()


def add_unit(
    uow: UnitsAdminUnitOfWork,
    draft: UnitDraft,
    new_key: NewKey,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> NewUnit:
    """A collecting unit in the admin's region, with its receipt signing key and its business
    system's API credential (the secret is returned once)."""
    errors = draft.problems()
    if errors:
        raise ValidationFailed("单位信息有误：" + "；".join(errors.values()), errors=errors)
    if not by.sees_region(draft.region_code):
        raise ValidationFailed(
            "所属区划不在您的管辖范围内", errors={"region_code": draft.region_code}
        )
    now = clock.now()
    app_id, secret = f"pp_{draft.code}", secrets.token_hex(32)
    with uow:
        if uow.units.region(draft.region_code) is None:
            raise ValidationFailed("所属区划不存在", errors={"region_code": draft.region_code})
        if uow.units.by_code(draft.code) is not None or uow.units.client(app_id) is not None:
            raise Conflict(f"单位编码 {draft.code} 已存在", errors={"code": draft.code})
        credit = normalise_credit_code(draft.credit_code)
        unit_id = uow.units.add(draft.code, draft.name.strip(), draft.region_code, credit, now,
                                contact=draft.contact.strip())  # fmt: skip
        uow.units.add_client(app_id, "unit", unit_id, secret, now)
        uow.receipts.add_key("unit", draft.code, new_key(), now)
        after = {"name": draft.name.strip(), "region": draft.region_code, "credit_code": credit,
                 "contact": draft.contact.strip(), "app_id": app_id}  # fmt: skip
        uow.audit.append(by.audit_name, "unit.added", draft.code, {"from": source, "after": after},
                         now)  # fmt: skip
        uow.commit()
    return NewUnit(unit_id, draft.code, app_id, secret)


def add_site(
    uow: UnitsAdminUnitOfWork,
    unit_id: int,
    code: str,
    name: str,
    kind: str,
    address: str,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> int:
    """A site (service hall, branch office, convenience point) of a unit in scope."""
    errors = site_problems(code, name, kind)
    if errors:
        raise ValidationFailed("网点信息有误：" + "；".join(errors.values()), errors=errors)
    now = clock.now()
    with uow:
        unit = uow.units.get(unit_id)
        if unit is None or not by.sees_unit(unit.id, unit.region_code):
            raise NotFound("该单位不存在或不在您的管辖范围内")
        if uow.units.site_by_code(code) is not None:
            raise Conflict(f"网点编码 {code} 已存在", errors={"code": code})
        site_id = uow.units.add_site(
            code, name.strip(), SiteKind(kind), unit.region_code, unit.id, now,
            address=address.strip(),
        )  # fmt: skip
        after = {"unit": unit.code, "name": name.strip(), "kind": kind, "address": address}
        uow.audit.append(by.audit_name, "site.added", code, {"from": source, "after": after}, now)
        uow.commit()
    return site_id


def add_window(
    uow: UnitsAdminUnitOfWork,
    site_id: int,
    number: str,
    name: str,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> int:
    """A numbered window at a site of a unit in scope."""
    errors = window_problems(number)
    if errors:
        raise ValidationFailed("窗口号有误：" + errors["number"], errors=errors)
    now = clock.now()
    with uow:
        site = uow.units.site(site_id)
        unit = uow.units.get(site.unit_id) if site and site.unit_id is not None else None
        if site is None or unit is None or not by.sees_unit(unit.id, unit.region_code):
            raise NotFound("该网点不存在或不在您的管辖范围内")
        if any(w.number == number for w in uow.units.windows(site.id)):
            raise Conflict(f"窗口号 {number} 已存在", errors={"number": number})
        window_id = uow.units.add_window(site.id, number, name.strip())
        after = {"site": site.code, "number": number, "name": name.strip()}
        uow.audit.append(by.audit_name, "window.added", f"{site.code}/{number}",
                         {"from": source, "after": after}, now)  # fmt: skip
        uow.commit()
    return window_id


# --- editing (issue 10): units, sites and windows ----------------------------------------------
# Each edit reads the record in scope (NotFound otherwise), changes only what differs, and writes
# one audit row with the fields before and after; an edit that changes nothing writes nothing
# (so repeating it is harmless: the API's PATCH and close/reopen calls are idempotent).


@dataclass(frozen=True, slots=True)
class UnitChange:
    """A unit's new name, contact and region (None: unchanged)."""

    name: str | None = None
    contact: str | None = None
    region_code: str | None = None


def _unit_in_scope(uow: UnitsAdminUnitOfWork, by: Actor, unit_id: int) -> Unit:
    unit = uow.units.get(unit_id)
    if unit is None or not by.sees_unit(unit.id, unit.region_code):
        raise NotFound("该单位不存在或不在您的管辖范围内")
    return unit


def _changed(before: Mapping[str, object], after: Mapping[str, object]) -> dict[str, object]:
    """{"before": …, "after": …} of the fields that differ (empty when none does)."""
    keys = [k for k in after if before.get(k) != after[k]]
    if not keys:
        return {}
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after[k] for k in keys}}


def update_unit(
    uow: UnitsAdminUnitOfWork,
    unit_id: int,
    change: UnitChange,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> Unit:
    """A unit's name, contact or region (a region the editor administers, which exists)."""
    with uow:
        unit = _unit_in_scope(uow, by, unit_id)
        name = unit.name if change.name is None else change.name.strip()
        contact = unit.contact if change.contact is None else change.contact.strip()
        region = unit.region_code if change.region_code is None else change.region_code.strip()
        errors = unit_change_problems(name, contact)
        if errors:
            raise ValidationFailed("单位信息有误：" + "；".join(errors.values()), errors=errors)
        if region != unit.region_code and (
            not by.sees_region(region) or uow.units.region(region) is None
        ):
            raise ValidationFailed(
                "所属区划不存在或不在您的管辖范围内", errors={"region_code": region}
            )
        before = {"name": unit.name, "contact": unit.contact, "region": unit.region_code}
        diff = _changed(before, {"name": name, "contact": contact, "region": region})
        if diff:
            uow.units.update_unit(unit.id, name, contact, region)
            uow.audit.append(by.audit_name, "unit.updated", unit.code, {"from": source, **diff},
                             clock.now())  # fmt: skip
        uow.commit()
    return replace(unit, name=name, contact=contact, region_code=region)


def set_unit_active(
    uow: UnitsAdminUnitOfWork,
    unit_id: int,
    active: bool,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> Unit:
    """Disable a unit (its business system's credentials are refused while it is disabled; its
    payables, receipts and history stay) or enable it again."""
    now = clock.now()
    with uow:
        unit = _unit_in_scope(uow, by, unit_id)
        if unit.active != active:
            uow.units.set_unit_disabled(unit.id, None if active else now)
            detail = {
                "from": source,
                "before": {"active": unit.active},
                "after": {"active": active},
            }
            action = "unit.enabled" if active else "unit.disabled"
            uow.audit.append(by.audit_name, action, unit.code, detail, now)
        uow.commit()
    return replace(unit, disabled_at=None if active else (unit.disabled_at or now))


@dataclass(frozen=True, slots=True)
class PlaceChange:
    """A site's or window's new name, address (sites) and state (None: unchanged)."""

    name: str | None = None
    address: str | None = None
    active: bool | None = None


def _site_in_scope(uow: UnitsAdminUnitOfWork, by: Actor, site_id: int) -> tuple[Site, Unit]:
    site = uow.units.site(site_id)
    unit = uow.units.get(site.unit_id) if site and site.unit_id is not None else None
    if site is None or unit is None or not by.sees_unit(unit.id, unit.region_code):
        raise NotFound("该网点不存在或不在您的管辖范围内")
    return site, unit


def update_site(
    uow: UnitsAdminUnitOfWork,
    site_id: int,
    change: PlaceChange,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> Site:
    """Rename a site, change its address, close or reopen it (a closed site keeps its history;
    its windows take no new shifts)."""
    with uow:
        site, _ = _site_in_scope(uow, by, site_id)
        name = site.name if change.name is None else change.name.strip()
        address = site.address if change.address is None else change.address.strip()
        active = site.active if change.active is None else change.active
        errors = name_problems(name, what="网点")
        if len(address) > 300:
            errors["address"] = "地址最多300个字"
        if errors:
            raise ValidationFailed("网点信息有误：" + "；".join(errors.values()), errors=errors)
        before = {"name": site.name, "address": site.address, "active": site.active}
        diff = _changed(before, {"name": name, "address": address, "active": active})
        if diff:
            uow.units.update_site(site.id, name, address, active)
            uow.audit.append(by.audit_name, "site.updated", site.code, {"from": source, **diff},
                             clock.now())  # fmt: skip
        uow.commit()
    return replace(site, name=name, address=address, active=active)


def update_window(
    uow: UnitsAdminUnitOfWork,
    window_id: int,
    change: PlaceChange,
    *,
    by: Actor,
    source: str,
    clock: Clock,
) -> Window:
    """Rename a window, close or reopen it."""
    with uow:
        window = uow.units.window(window_id)
        if window is None:
            raise NotFound("该窗口不存在或不在您的管辖范围内")
        site, _ = _site_in_scope(uow, by, window.site_id)
        name = window.name if change.name is None else change.name.strip()
        active = window.active if change.active is None else change.active
        errors = name_problems(name, what="窗口", low=0, high=100)
        if errors:
            raise ValidationFailed("窗口信息有误：" + errors["name"], errors=errors)
        diff = _changed({"name": window.name, "active": window.active},
                        {"name": name, "active": active})  # fmt: skip
        if diff:
            uow.units.update_window(window.id, name, active)
            uow.audit.append(by.audit_name, "window.updated", f"{site.code}/{window.number}",
                             {"from": source, **diff}, clock.now())  # fmt: skip
        uow.commit()
    return replace(window, name=name, active=active)
