"""DEMO cash office history: the vehicle office's service hall has a POS terminal at windows 01
and 02; this morning `vmo_cashier` worked window 01 and closed balanced (its deposit slip is
on its way to the bank), and `vmo_cashier2` closed window 02 five yuan short and waits for the
duty supervisor (`vmo_supervisor`). `vmo_cashier` is free to open a new shift in the console.

Everything goes through the services (and the unit API for the payables), like the window would.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from publicpay.bootstrap import Container
from publicpay.domain.access import Actor, actor_of
from publicpay.domain.devices import Device, DeviceKind
from publicpay.services.payments.cash import record_cash_payment
from publicpay.services.shifts.closing import CloseShift, close_shift
from publicpay.services.shifts.opening import OpenShift, open_shift

log = logging.getLogger("publicpay.demo")
HALL = "CG-HALL"
POS = (
    ("demo-pos-cg-01", "01", "车管所大厅1号窗POS"),
    ("demo-pos-cg-02", "02", "车管所大厅2号窗POS"),
)
# (cashier, window index, opening float, the items of the payables paid in cash)
SHIFTS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("vmo_cashier", 0, 500_00, ("GA0101", "GA0105", "GA0105")),
    ("vmo_cashier2", 1, 300_00, ("GA0105", "GA0108")),
)
SHORT_FEN = 5_00  # window 02 closes five yuan short


def ensure_pos_devices(container: Container) -> tuple[list[int], bool]:
    """The hall's window POS terminals (device credentials with random DEMO secrets): the ids
    of windows 01 and 02, and whether the terminals were added just now."""
    now = container.clock.now()
    with container.uow() as uow:
        hall = next((s for s in uow.units.sites() if s.code == HALL), None)
        if hall is None:
            return [], False
        windows = {w.number: w for w in uow.units.windows(hall.id)}
        added = False
        for app_id, number, name in POS:
            if uow.devices.by_app_id(app_id) is None and number in windows:
                uow.units.add_client(app_id, "device", hall.unit_id,
                                     "demo_" + secrets.token_hex(16), now)  # fmt: skip
                device = Device(0, app_id, DeviceKind.POS, name, hall.id, windows[number].id,
                                hall.unit_id, None)  # fmt: skip
                uow.devices.add(device, now)
                added = True
        uow.commit()
        return [w.id for number, w in sorted(windows.items()) if number in ("01", "02")], added


def _actor(container: Container, username: str) -> Actor | None:
    with container.read_uow() as uow:
        user = uow.users.by_username(username)
    return actor_of(user) if user else None


def seed_cash_office(container: Container, register: Any) -> None:
    """`register(item_code)` registers one payable of the vehicle office and returns it (the
    demo activity's signed API call). Runs once, when it adds the hall's POS terminals."""
    windows, added = ensure_pos_devices(container)
    if len(windows) < 2 or not added:
        return
    for index, (username, window, opening_float, items) in enumerate(SHIFTS):
        actor = _actor(container, username)
        if actor is None:
            continue
        clock = container.clock
        shift = open_shift(container.uow(), OpenShift(windows[window], opening_float),
                           actor=actor, clock=clock)  # fmt: skip
        cash = 0
        for n, item in enumerate(items):
            payable = register(item)
            paid = record_cash_payment(
                container.uow(), payable["payment_code"], cashier=username,
                received_fen=payable["amount_fen"] + 50_00, clock=clock,
                device=POS[window][0], client_serial=f"demo-{shift.id}-{n}",
                unit_id=actor.unit_id,
            )  # fmt: skip
            cash += paid.amount_fen
        counted = opening_float + cash - (SHORT_FEN if index == 1 else 0)
        close_shift(container.uow(), CloseShift(shift.id, _pieces(counted), "交班"),
                    actor=actor, clock=clock)  # fmt: skip
    log.info("演示收费班次已生成")


def _pieces(fen: int) -> dict[int, int]:
    """Counted cash as notes and coins, largest first."""
    pieces: dict[int, int] = {}
    for value in (100_00, 50_00, 20_00, 10_00, 5_00, 1_00, 50, 10):
        pieces[value], fen = divmod(fen, value)
    assert fen == 0
    return pieces
