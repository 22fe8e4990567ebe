"""Device API (K2): heartbeats of kiosks and POS terminals (signed with the device's own
credential, `X-App-Id` = device id), and a partner bank's view of the kiosks in its branches
(signed with the bank's credential)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from publicpay.api.auth import bank_client, device_client
from publicpay.api.deps import container
from publicpay.api.schemas import Strict, text
from publicpay.bootstrap import Container
from publicpay.domain.devices import DEVICE_HEALTH_LABELS, Device, Heartbeat, health
from publicpay.domain.units import ApiClient
from publicpay.services.devices.heartbeats import record_heartbeat

router = APIRouter(tags=["devices (device API)"])


class HeartbeatIn(Strict):
    printer: str = text(max_length=20, description="打印机状态：ok / error / offline")
    paper: str = text(max_length=20, description="纸张：ok / low（将用尽）/ out（缺纸）")
    version: str = text(min_length=1, max_length=40, description="终端软件版本号")


class DeviceOut(BaseModel):
    device_id: str = Field(description="设备编号（即其凭证 App ID）")
    kind: str = Field(description="kiosk（自助机）/ pos（智能POS）")
    name: str
    site_id: int | None
    status: str = Field(description="online / paper_low / printer_fault / offline / never_seen")
    status_label: str
    printer: str | None
    paper: str | None
    version: str | None
    last_seen_at: str | None


class DevicesOut(BaseModel):
    devices: list[DeviceOut]


def device_out(device: Device, c: Container) -> DeviceOut:
    state = health(device, c.clock.now())
    return DeviceOut(
        device_id=device.app_id,
        kind=device.kind.value,
        name=device.name,
        site_id=device.site_id,
        status=state.value,
        status_label=DEVICE_HEALTH_LABELS[state],
        printer=device.printer,
        paper=device.paper,
        version=device.version,
        last_seen_at=device.last_seen_at.isoformat() if device.last_seen_at else None,
    )


@router.post(
    "/api/v1/devices/heartbeat", response_model=DeviceOut, summary="设备心跳（打印机、纸张、版本）"
)
def heartbeat(
    body: HeartbeatIn,
    client: ApiClient = Depends(device_client),
    c: Container = Depends(container),
) -> DeviceOut:
    beat = Heartbeat.parse(body.printer, body.paper, body.version)
    return device_out(record_heartbeat(c.uow(), client.app_id, beat, clock=c.clock), c)


@router.get(
    "/api/v1/bank/devices", response_model=DevicesOut, summary="合作银行：本行网点内的自助机状态"
)
def bank_devices(
    client: ApiClient = Depends(bank_client), c: Container = Depends(container)
) -> DevicesOut:
    with c.uow() as uow:  # the first unit of work claims the request's nonce
        found = uow.devices.at_bank(client.app_id)
        uow.commit()
    return DevicesOut(devices=[device_out(device, c) for device in found])
