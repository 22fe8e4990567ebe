"""Cashier shifts at windows: a cashier of the window's unit opens one; one open shift per
window and per cashier; a POS at a window takes payments only inside an open shift, and each
payment records its site, window, device and shift."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.demo.stack import Stack
from publicpay.domain.access import Actor, Role
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from publicpay.services.shifts.closing import CloseShift, close_shift
from publicpay.services.shifts.opening import OpenShift, open_shift
from tests.conftest import payable_body
from tests.integration.counter_kit import snapshot
from tests.support.client import SignedClient


def _cashier(stack: Stack) -> Actor:
    with stack.container.read_uow() as uow:
        user = uow.users.by_username("vmo_cashier")
    assert user is not None
    return Actor(user.id, user.username, user.role, user.region_code, user.unit_id)


def _windows(stack: Stack, site_code: str) -> list[Any]:
    with stack.container.read_uow() as uow:
        site = next(s for s in uow.units.sites() if s.code == site_code)
        return uow.units.windows(site.id)


def _pos_at(stack: Stack, window: Any) -> SignedClient:
    """A POS terminal of its own at `window` (a credential and a device row)."""
    app_id, secret = f"pos_{uuid.uuid4().hex[:8]}", "demo_" + uuid.uuid4().hex
    now = datetime.now(UTC)
    with stack.container.uow() as uow:
        uow.units.add_client(app_id, "device", None, secret, now)
        uow.devices.add(
            Device(0, app_id, DeviceKind.POS, "窗口POS", window.site_id, window.id, None, None),
            now,
        )
        uow.commit()
    return SignedClient(str(stack.info["base_url"]), app_id, secret)


def test_a_cashier_opens_one_shift_at_one_window_at_a_time(stack: Stack) -> None:
    cashier = _cashier(stack)
    first, second = _windows(stack, "CG-BRANCH-N")[:2]
    opened = open_shift(stack.container.uow(), OpenShift(first.id, 50_000), actor=cashier,
                        clock=stack.container.clock)  # fmt: skip
    assert opened.window_id == first.id
    assert opened.opening_float_fen == 50_000
    with pytest.raises(Conflict, match="已在其他窗口开班"):
        open_shift(stack.container.uow(), OpenShift(second.id, 0), actor=cashier,
                   clock=stack.container.clock)  # fmt: skip
    close_shift(stack.container.uow(), CloseShift(opened.id, {100_00: 5}), actor=cashier,
                clock=stack.container.clock)  # fmt: skip


def test_shifts_are_refused_outside_the_cashiers_unit_role_and_float(stack: Stack) -> None:
    cashier = _cashier(stack)
    other_unit = _windows(stack, "CRJ-HALL")[0]
    window = _windows(stack, "CG-BRANCH-N")[2]
    clock = stack.container.clock
    with pytest.raises(NotFound):
        open_shift(stack.container.uow(), OpenShift(other_unit.id, 0), actor=cashier, clock=clock)
    with pytest.raises(NotFound):
        open_shift(stack.container.uow(), OpenShift(999_999, 0), actor=cashier, clock=clock)
    with pytest.raises(ValidationFailed):
        open_shift(stack.container.uow(), OpenShift(window.id, -1), actor=cashier, clock=clock)
    admin = Actor(cashier.user_id, cashier.username, Role.UNIT_ADMIN, None, cashier.unit_id)
    with pytest.raises(Forbidden):
        open_shift(stack.container.uow(), OpenShift(window.id, 0), actor=admin, clock=clock)
    with stack.container.read_uow() as uow:
        assert uow.shifts.open_at_window(window.id) is None


def test_a_pos_at_a_window_takes_cash_only_inside_an_open_shift(
    stack: Stack, api: SignedClient, payer: dict[str, str]
) -> None:
    window = _windows(stack, "CG-HALL")[5]
    pos = _pos_at(stack, window)
    code = api.post("/api/v1/payables", payable_body(payer)).json()["payment_code"]
    cash = {"payment_code": code, "received_fen": 20_000, "cashier": "收费员06"}
    cash["client_serial"] = uuid.uuid4().hex[:16]
    before = snapshot(stack)
    refused = pos.post("/api/v1/pos/cash-payments", cash)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("shift_required")
    assert snapshot(stack) == before

    shift = open_shift(stack.container.uow(), OpenShift(window.id, 20_000),
                       actor=_cashier(stack), clock=stack.container.clock)  # fmt: skip
    taken = pos.post("/api/v1/pos/cash-payments", cash)
    assert taken.status_code == 200, taken.text
    with stack.container.read_uow() as uow:
        row = uow.connection.execute(
            select(payment_orders).where(payment_orders.c.order_no == taken.json()["order_no"])
        ).one()
    assert (row.site_id, row.window_id, row.shift_id) == (window.site_id, window.id, shift.id)
    assert row.device_id is not None
