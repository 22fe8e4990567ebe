"""The kiosk's session: a kiosk browser is enrolled once, at installation, with its device
credential; it then holds a cookie naming the device and a MAC over the device id and a digest
of its current secret. Every request checks the credential again, so a revoked credential stops
the kiosk at once and a rotated one asks for enrolment again."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from fastapi import Depends, Request

from publicpay.bootstrap import Container
from publicpay.domain.devices import Device, DeviceKind, KioskDisabled
from publicpay.domain.errors import Unauthorized

COOKIE = "pp_kiosk"
AGENT_COOKIE = "pp_kiosk_agent"
PATH = "/kiosk"
HEADER = "x-kiosk-request"  # every kiosk API call carries it (a cross-site form cannot)
DEFAULT_AGENT = "http://127.0.0.1:17890"


@dataclass(frozen=True, slots=True)
class Kiosk:
    device: Device


def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def session_value(c: Container, app_id: str, secret: str) -> str:
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return f"{app_id}.{c.box.lookup_hash(f'kiosk-session:{app_id}:{digest}')[:32]}"


def enrolled(c: Container, app_id: str, secret: str) -> Device:
    """The kiosk these credentials belong to; Unauthorized otherwise."""
    client = c.load_api_client(app_id)
    if client is None or client.kind != "device" or not hmac.compare_digest(client.secret, secret):
        raise Unauthorized("设备编号或密钥不正确")
    if not client.active:
        raise KioskDisabled(f"设备 {app_id} 的凭证已吊销，请联系财政部门")
    with c.read_uow() as uow:
        device = uow.devices.by_app_id(app_id)
    if device is None or device.kind is not DeviceKind.KIOSK:
        raise Unauthorized(f"{app_id} 不是已登记的自助机")
    return device


def current_kiosk(c: Container, cookie: str) -> Kiosk | None:
    """The enrolled kiosk of this browser; None if not enrolled (or enrolled with a secret that
    has been rotated since); KioskDisabled when its credential was revoked."""
    app_id, _, _ = cookie.partition(".")
    client = c.api_client(app_id) if app_id else None
    if client is None or client.kind != "device":
        return None
    if not hmac.compare_digest(session_value(c, app_id, client.secret), cookie):
        return None
    if not client.active:
        raise KioskDisabled(
            "本机凭证已吊销，暂停服务。请联系管理部门；缴款人可使用其他自助机或手机缴款。"
        )
    with c.read_uow() as uow:
        device = uow.devices.by_app_id(app_id)
    return Kiosk(device) if device is not None else None


def kiosk_call(request: Request, c: Container = Depends(container)) -> Kiosk:
    """A kiosk API call: the header, then the enrolled kiosk."""
    if request.headers.get(HEADER) != "1":
        raise Unauthorized("缺少自助机请求头")
    found = current_kiosk(c, request.cookies.get(COOKIE, ""))
    if found is None:
        raise Unauthorized("本机尚未登记或登记已失效，请管理员重新登记")
    return found
