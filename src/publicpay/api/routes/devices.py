"""Device API (K2): heartbeats of kiosks and POS terminals (signed with the device's own
credential, `X-App-Id` = device id), and a partner bank's view of the kiosks in its branches
(signed with the bank's credential)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from publicpay.adapters.db.queries import kiosk as kiosk_queries
from publicpay.adapters.receipts.formats import receipt_policy
from publicpay.api.auth import bank_client, device_client
from publicpay.api.deps import container
from publicpay.api.schemas import Strict, text
from publicpay.bootstrap import Container
from publicpay.domain.codes import is_valid_citizen_id, normalise_citizen_id
from publicpay.domain.devices import DEVICE_HEALTH_LABELS, Device, Heartbeat, health
from publicpay.domain.errors import ValidationFailed
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


class KioskPayablesOut(BaseModel):
    payer: str = Field(description="缴款人姓名（脱敏）")
    payables: list[dict[str, Any]] = Field(description="待缴款（各单位）")
    receipts: list[dict[str, Any]] = Field(description="可打印的票据（开具后约6个月内）")


@router.get(
    "/api/v1/kiosk/payables",
    response_model=KioskPayablesOut,
    summary="自助机：按身份证号查询待缴款与可打印票据",
)
def kiosk_payables(
    id_no: str = Query(max_length=18, description="身份证号码（18位，校验位须正确）"),
    client: ApiClient = Depends(device_client),
    c: Container = Depends(container),
) -> KioskPayablesOut:
    """A kiosk's own software (not the web page) asks with its device credential: the person's
    unpaid payables across every unit (or the kiosk's unit), and their printable receipts."""
    number = normalise_citizen_id(id_no)
    if not is_valid_citizen_id(number):
        raise ValidationFailed("身份证号码无效（校验位不符）", errors={"id_no": "无效"})
    with c.uow() as uow:  # the first unit of work claims the request's nonce
        device = uow.devices.by_app_id(client.app_id)
        unit_id = device.unit_id if device else client.unit_id
        found = kiosk_queries.payer_payables(uow.connection, c.box.lookup_hash(number), unit_id)
        window = receipt_policy(c.settings).print_window_days
        shown = kiosk_queries.listing(
            uow.connection, found, uow.catalogue.items(), now=c.clock.now(), window_days=window
        )
        uow.commit()
    return KioskPayablesOut(payer=shown.payer, payables=shown.payables, receipts=shown.receipts)
