"""Helpers for the cash office tests: a window of its own with a POS terminal there."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from publicpay.demo.stack import Stack
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.units import SiteKind
from tests.support.client import SignedClient


def new_window(stack: Stack) -> tuple[int, SignedClient]:
    """A window of its own at a new hall of the vehicle office, with a POS terminal there."""
    now = datetime.now(UTC)
    app_id, secret = f"pos_{uuid.uuid4().hex[:8]}", "demo_" + uuid.uuid4().hex
    with stack.container.uow() as uow:
        hall = next(s for s in uow.units.sites() if s.code == "CG-HALL")
        code = f"T-{uuid.uuid4().hex[:6]}"
        site_id = uow.units.add_site(code, "测试大厅", SiteKind.SERVICE_HALL, hall.region_code,
                                     hall.unit_id, now)  # fmt: skip
        window_id = uow.units.add_window(site_id, "01", "1号窗口")
        uow.units.add_client(app_id, "device", hall.unit_id, secret, now)
        pos = Device(0, app_id, DeviceKind.POS, "测试POS", site_id, window_id, hall.unit_id, None)
        uow.devices.add(pos, now)
        uow.commit()
    return window_id, SignedClient(str(stack.info["base_url"]), app_id, secret)
