"""Heartbeats (K2): a device reports its printer, paper and software version every half
minute; the console derives online / offline / paper-low from the last one."""

from __future__ import annotations

from publicpay.domain.devices import Device, DeviceNotFound, Heartbeat
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork


def record_heartbeat(uow: UnitOfWork, app_id: str, beat: Heartbeat, *, clock: Clock) -> Device:
    with uow:
        now = clock.now()
        found = uow.devices.heartbeat(
            app_id, now, printer=beat.printer.value, paper=beat.paper.value, version=beat.version
        )
        if not found:
            raise DeviceNotFound(f"凭证 {app_id} 未登记为设备")
        device = uow.devices.by_app_id(app_id)
        uow.commit()
    assert device is not None
    return device
