"""Cashier shifts (`services.shifts`) and payments taken at a window: one open shift per window
and per cashier, and a POS at a window takes payments only inside its window's open shift."""

from __future__ import annotations

import pytest

from publicpay.domain.access import Actor, Role
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.errors import Conflict, Forbidden, NotFound
from publicpay.domain.shifts import Shift, ShiftRequired
from publicpay.domain.units import Site, SiteKind, Window
from publicpay.services.payments.cash import record_cash_payment
from publicpay.services.shifts.opening import OpenShift, open_shift
from tests.unit.services_kit import OFFICE, REGION, World, counts

HALL = Site(1, "S01", "车管所业务大厅", SiteKind.SERVICE_HALL, REGION, OFFICE.id)
WINDOW_1, WINDOW_2 = Window(1, HALL.id, "01"), Window(2, HALL.id, "02")
POS = Device(1, "dev_pos_01", DeviceKind.POS, "1号窗POS", HALL.id, WINDOW_1.id, OFFICE.id, None)


def _cashier(user_id: int = 7, unit_id: int | None = OFFICE.id) -> Actor:
    return Actor(user_id, f"cashier{user_id}", Role.CASHIER, None, unit_id)


def _hall() -> World:
    world = World()
    world.db.add_site(HALL, WINDOW_1, WINDOW_2)
    world.db.add_device(POS)
    return world


def _open(world: World, window: Window, actor: Actor) -> Shift:
    return open_shift(world.uow(), OpenShift(window.id, 500_00), actor=actor, clock=world.clock)


def test_a_cashier_opens_one_shift_at_one_window_at_a_time() -> None:
    world = _hall()
    shift = _open(world, WINDOW_1, _cashier(7))
    assert (shift.window_id, shift.site_id, shift.unit_id, shift.cashier) == (1, 1, 1, "cashier7")
    assert world.audit_actions() == ["shift.open"]
    with pytest.raises(Conflict, match="该窗口已由 cashier7 开班"):
        _open(world, WINDOW_1, _cashier(8))
    with pytest.raises(Conflict, match="您已在其他窗口开班"):
        _open(world, WINDOW_2, _cashier(7))
    assert _open(world, WINDOW_2, _cashier(8)).window_id == WINDOW_2.id


def test_only_a_cashier_of_the_windows_unit_opens_a_shift_there() -> None:
    world = _hall()
    with pytest.raises(Forbidden):
        _open(world, WINDOW_1, Actor(9, "boss", Role.UNIT_ADMIN, None, OFFICE.id))
    with pytest.raises(NotFound):
        _open(world, WINDOW_1, _cashier(9, unit_id=2))
    assert world.tables.shifts == {}


def test_a_pos_at_a_window_takes_cash_only_inside_an_open_shift() -> None:
    world = _hall()
    payable = world.register()
    before = counts(world.tables)

    def take_cash() -> None:
        record_cash_payment(
            world.uow(),
            payable.payment_code,
            cashier="cashier7",
            received_fen=20_000,
            clock=world.clock,
            device=POS.app_id,
            client_serial="C1",
            unit_id=POS.unit_id,
        )

    with pytest.raises(ShiftRequired) as refused:
        take_cash()
    assert refused.value.code == "shift_required"
    assert counts(world.tables) == before
    shift = _open(world, WINDOW_1, _cashier(7))
    take_cash()
    [order] = world.tables.orders.values()
    assert (order.site_id, order.window_id, order.device_id, order.shift_id) == (
        HALL.id,
        WINDOW_1.id,
        POS.id,
        shift.id,
    )
    assert world.db.balances(payable.id)["channel_receivable:cash"] == 10_000
