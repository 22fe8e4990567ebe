"""Helpers for the window POS tests: a window of its own with a POS terminal, a cashier of the
vehicle office, a payable registered with a plate number, the cashier's console session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import select

from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.queries.units import all_units
from publicpay.domain.devices import Device, DeviceKind
from publicpay.domain.receipts.receipts import receipt_code
from tests.conftest import payable_body
from tests.integration.console_kit import ConsoleUser, csrf_of, logged_in, make_user
from tests.support.client import SignedClient

VEHICLE_OFFICE = "330105101"


def office_id(stack: Any) -> int:
    with stack.container.read_uow() as uow:
        units = all_units(uow.connection)
    return next(u.id for u in units if u.code == VEHICLE_OFFICE)


def new_terminal(stack: Any, *, own_stock: bool = False) -> tuple[int, str]:
    """A new window at the vehicle office's hall with a POS terminal: (window id, app id).
    `own_stock`: the terminal is an issuing point with a receipt number range of its own."""
    c, unit_id = stack.container, office_id(stack)
    suffix = secrets.token_hex(3)
    with c.uow() as uow:
        site = next(s for s in uow.units.sites() if s.code == "CG-HALL")
        window_id = uow.units.add_window(site.id, f"T{suffix}", f"测试窗口{suffix}")
        app_id = f"pos_t{suffix}"
        uow.units.add_client(app_id, "device", unit_id, secrets.token_hex(16), c.clock.now())
        device = Device(0, app_id, DeviceKind.POS, f"测试POS{suffix}", site.id, window_id,
                        unit_id, app_id if own_stock else None,
                        card_terminal_id=f"9{secrets.randbelow(10**7):07d}")  # fmt: skip
        uow.devices.add(device, c.clock.now())
        if own_stock:
            start = 2_000_000_000 + secrets.randbelow(10**6) * 100  # clear of other ranges
            code = receipt_code("33", "01", "01", c.clock.now().year)
            uow.receipts.add_stock(
                code, start, start + 49, unit_id=unit_id, issuing_point=app_id, actor="test",
                at=c.clock.now(),
            )  # fmt: skip
        uow.commit()
    return window_id, app_id


def new_cashier(stack: Any) -> ConsoleUser:
    return make_user(stack, "cashier", unit_id=office_id(stack))


def register_with_plate(api: SignedClient, payer: dict[str, str], plate: str) -> dict[str, Any]:
    body = payable_body(payer, "GA0101")
    body["items"].append({"item_code": "GA0105", "quantity": 1})
    body["attributes"] = {"plate_no": plate}
    response = api.post("/api/v1/payables", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def new_plate() -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    tail = "".join(secrets.choice(letters + "0123456789") for _ in range(5))
    return f"浙A·{tail}"


@contextmanager
def at_window(stack: Any, *, own_stock: bool = False) -> Iterator[tuple[httpx.Client, int, str]]:
    """A new cashier logged in, with a shift open at a new window: (client, window, app id)."""
    window_id, app_id = new_terminal(stack, own_stock=own_stock)
    cashier = new_cashier(stack)
    with logged_in(stack.info["base_url"], cashier) as client:
        page = client.get("/console/pos")
        assert page.status_code == 200, page.text
        opened = client.post(
            "/console/pos/shift",
            data={"window_id": window_id, "opening_float": "200", "csrf": csrf_of(page.text)},
        )
        assert opened.status_code == 303, opened.text
        yield client, window_id, app_id


def card_terminal_id(stack: Any, app_id: str) -> str:
    """The TID of a test terminal's card reader at the acquirer."""
    with stack.container.read_uow() as uow:
        device = uow.devices.by_app_id(app_id)
    assert device is not None
    assert device.card_terminal_id
    return device.card_terminal_id


def orders_of(stack: Any, code: str) -> list[Any]:
    """Every payment order of the payable with this payment code, oldest first."""
    stmt = (
        select(payment_orders)
        .join(payables, payables.c.id == payment_orders.c.payable_id)
        .where(payables.c.payment_code == code)
        .order_by(payment_orders.c.id)
    )
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt).all())
