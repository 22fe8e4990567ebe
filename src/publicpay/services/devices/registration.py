"""Registering a device (K2): its credential (returned once), its site, window and receipt
issuing point, in one transaction with the audit row."""

from __future__ import annotations

from dataclasses import dataclass, replace

from publicpay.domain.devices import Device, DeviceKind, validate_registration
from publicpay.domain.errors import Conflict, NotFound, ValidationFailed
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork
from publicpay.services.units.credentials import new_api_secret


@dataclass(frozen=True, slots=True)
class NewDevice:
    kind: str
    app_id: str
    name: str
    site_id: int
    window_id: int | None = None
    card_terminal_id: str | None = None  # a POS's TID at the card acquirer (8 digits)


@dataclass(frozen=True, slots=True)
class Registered:
    device: Device
    secret: str  # shown once


def register_device(uow: UnitOfWork, new: NewDevice, *, actor: str, clock: Clock) -> Registered:
    """A kiosk at a site (every unit's payables unless the site is one unit's), or a POS at a
    window of a unit's site. Its issuing point (开票点) is its own id: stock is allocated to it
    on the stock screen."""
    kind = validate_registration(
        new.kind, new.app_id, new.name, new.window_id, new.card_terminal_id
    )
    with uow:
        site = uow.units.site(new.site_id)
        if site is None:
            raise NotFound("网点不存在", errors={"site_id": str(new.site_id)})
        if kind is DeviceKind.POS:
            if site.unit_id is None:
                raise ValidationFailed("智能POS须放在执收单位的网点", errors={"site_id": ""})
            window = uow.units.window(new.window_id) if new.window_id is not None else None
            if window is None or window.site_id != site.id:
                raise ValidationFailed("智能POS须指定该网点的收费窗口", errors={"window_id": ""})
        if uow.units.client(new.app_id) is not None:
            raise Conflict(f"设备编号 {new.app_id} 已被使用", errors={"app_id": new.app_id})
        now, secret = clock.now(), new_api_secret()
        uow.units.add_client(new.app_id, "device", site.unit_id, secret, now)
        device = Device(
            id=0,
            app_id=new.app_id,
            kind=kind,
            name=new.name.strip(),
            site_id=site.id,
            window_id=new.window_id,
            unit_id=site.unit_id,
            issuing_point=new.app_id,
            card_terminal_id=new.card_terminal_id,
        )
        device_id = uow.devices.add(device, now)
        detail = {"kind": kind.value, "site": site.code, "name": device.name}
        uow.audit.append(actor, "device.register", new.app_id, detail, now)
        uow.commit()
    return Registered(replace(device, id=device_id), secret)
