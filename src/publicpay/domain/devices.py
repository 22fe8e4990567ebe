"""Devices (K2): self-service kiosks (自助机) and window POS terminals (智能POS), each with its
own API credential (`api_clients`, kind "device"), a site, and a receipt issuing point."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from publicpay.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed


class DeviceKind(StrEnum):
    KIOSK = "kiosk"  # 自助缴费终端
    POS = "pos"  # 窗口智能POS


DEVICE_KIND_LABELS = {DeviceKind.KIOSK: "自助机", DeviceKind.POS: "智能POS"}


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    app_id: str  # its credential
    kind: DeviceKind
    name: str
    site_id: int | None
    window_id: int | None  # a POS at a window
    unit_id: int | None  # bound to one unit's payables (None: every unit, e.g. a street kiosk)
    issuing_point: str | None  # 开票点: its own receipt number stock
    active: bool = True
    last_seen_at: datetime | None = None  # last heartbeat
    printer: str | None = None  # as reported: ok | error | offline
    paper: str | None = None  # ok | low | out
    version: str | None = None
    card_terminal_id: str | None = None  # a POS's terminal id (TID) at the card acquirer


class PrinterState(StrEnum):
    """The receipt printer as the device reports it."""

    OK = "ok"
    ERROR = "error"  # jammed, cover open
    OFFLINE = "offline"  # not connected


class PaperState(StrEnum):
    OK = "ok"
    LOW = "low"  # a near-end sensor: print, but send someone with a roll
    OUT = "out"


class DeviceHealth(StrEnum):
    """What the console shows (and alerts on) for a device, from its last heartbeat."""

    ONLINE = "online"
    PAPER_LOW = "paper_low"
    PRINTER_FAULT = "printer_fault"  # printer error or offline, or paper out
    OFFLINE = "offline"  # no heartbeat within the allowed gap
    NEVER_SEEN = "never_seen"
    DISABLED = "disabled"  # credential revoked or device deactivated


DEVICE_HEALTH_LABELS = {
    DeviceHealth.ONLINE: "在线",
    DeviceHealth.PAPER_LOW: "纸将用尽",
    DeviceHealth.PRINTER_FAULT: "打印机故障/缺纸",
    DeviceHealth.OFFLINE: "离线",
    DeviceHealth.NEVER_SEEN: "未上线",
    DeviceHealth.DISABLED: "已停用",
}
PRINTER_LABELS = {
    PrinterState.OK: "正常",
    PrinterState.ERROR: "故障",
    PrinterState.OFFLINE: "未连接",
}
PAPER_LABELS = {PaperState.OK: "充足", PaperState.LOW: "将用尽", PaperState.OUT: "缺纸"}
OFFLINE_AFTER = timedelta(minutes=3)  # a kiosk beats every 30 s; three minutes of silence


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One heartbeat, checked: states from their enums, a short printable version string."""

    printer: PrinterState
    paper: PaperState
    version: str

    @classmethod
    def parse(cls, printer: str, paper: str, version: str) -> Heartbeat:
        errors: dict[str, str] = {}
        if printer not in PrinterState._value2member_map_:
            errors["printer"] = "应为 ok / error / offline"
        if paper not in PaperState._value2member_map_:
            errors["paper"] = "应为 ok / low / out"
        if not _VERSION.match(version):
            errors["version"] = "软件版本号应为1-40位字母、数字或 . _ + -"
        if errors:
            raise ValidationFailed("心跳数据有误", errors=errors)
        return cls(PrinterState(printer), PaperState(paper), version)


_VERSION = re.compile(r"^[A-Za-z0-9._+-]{1,40}$")


def health(device: Device, now: datetime, *, credential_active: bool = True) -> DeviceHealth:
    if not device.active or not credential_active:
        return DeviceHealth.DISABLED
    if device.last_seen_at is None:
        return DeviceHealth.NEVER_SEEN
    if now - device.last_seen_at > OFFLINE_AFTER:
        return DeviceHealth.OFFLINE
    if device.printer != PrinterState.OK.value or device.paper == PaperState.OUT.value:
        return DeviceHealth.PRINTER_FAULT
    if device.paper == PaperState.LOW.value:
        return DeviceHealth.PAPER_LOW
    return DeviceHealth.ONLINE


def can_print(device: Device) -> bool:
    """A kiosk prints only while its printer works and has paper (as last reported)."""
    return device.printer in (None, PrinterState.OK.value) and device.paper != PaperState.OUT.value


class PrinterUnavailable(Conflict):
    code = "printer_unavailable"
    title = "打印机暂不可用"


class KioskDisabled(Forbidden):
    """The kiosk's credential was revoked: it serves nobody until it gets a new one."""

    code = "kiosk_disabled"
    title = "本机已停用"


class DeviceNotFound(NotFound):
    code = "device_not_found"
    title = "设备不存在"


_NAME = re.compile(r"^[^\x00-\x1f\x7f]{2,100}$")
_APP_ID = re.compile(r"^[a-z][a-z0-9_]{3,39}$")


def validate_registration(
    kind: str, app_id: str, name: str, window_id: int | None, card_terminal_id: str | None = None
) -> DeviceKind:
    """The kind of a new device once its credential id and name fit; a window and a card
    terminal id (TID at the acquirer, 8 digits) only for a POS."""
    errors: dict[str, str] = {}
    if card_terminal_id is not None:
        if kind != DeviceKind.POS.value:
            errors["card_terminal_id"] = "只有智能POS有银行卡终端号"
        elif not (len(card_terminal_id) == 8 and card_terminal_id.isascii()
                  and card_terminal_id.isdigit()):  # fmt: skip
            errors["card_terminal_id"] = "银行卡终端号（TID）应为8位数字"
    if kind not in DeviceKind._value2member_map_:
        errors["kind"] = "应为 kiosk（自助机）或 pos（智能POS）"
    if not _APP_ID.match(app_id):
        errors["app_id"] = "设备编号应为4-40位小写字母、数字或下划线，以字母开头"
    if not _NAME.match(name.strip()):
        errors["name"] = "设备名称应为2-100个字符"
    if kind == DeviceKind.KIOSK.value and window_id is not None:
        errors["window_id"] = "自助机不属于收费窗口"
    if errors:
        raise ValidationFailed("设备登记信息有误", errors=errors)
    return DeviceKind(kind)
