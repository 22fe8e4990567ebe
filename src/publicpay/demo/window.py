"""The window POS's other parties in the demo (issue 13): the acquirer's terminal host with the
terminals' card readers, and the vehicle office's business system answering record queries.

Each start makes both emulators anew: the demo merchant is registered at the acquirer with the
platform's MAC key, and the vehicle office's lookup URL is pointed at the business-system
emulator with a fresh secret (written directly: a demo start is not an administrative action).
The business system knows records the platform has not been told of yet — a vehicle waiting at
the window whose plate the cashier types finds nothing, then asks the business system.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from publicpay.adapters.db.unit_of_work import SqlUnitOfWork
from publicpay.adapters.db.units import units as units_table
from publicpay.bootstrap import card_mac_key
from publicpay.emulators.acquirer import CardTerminalEmulator
from publicpay.emulators.business_system import BusinessSystemEmulator, Record
from publicpay.settings import Settings

VEHICLE_OFFICE = "330105101"
# business records the vehicle office's system holds but has not registered (plates, payer)
UNREGISTERED = (
    ("浙A·6N2W8", "CG2026120600412", (("GA0101", 1), ("GA0105", 1))),
    ("浙A·9T4L7", "CG2026120600415", (("GA0104", 1),)),
)


def start_window_parties(
    uow: SqlUnitOfWork, settings: Settings, payer: dict[str, str], *, time_scale: float
) -> tuple[CardTerminalEmulator, BusinessSystemEmulator]:
    acquirer = CardTerminalEmulator(time_scale=time_scale)
    acquirer.register_merchant(settings.card_merchant_id, card_mac_key(settings))
    business = BusinessSystemEmulator()
    unit_id = uow.connection.execute(
        select(units_table.c.id).where(units_table.c.code == VEHICLE_OFFICE)
    ).scalar()
    if unit_id is not None:
        business.secret = "lksec_" + secrets.token_hex(24)
        url = settings.public_base_url.rstrip("/") + "/emulator/business/lookup"
        uow.units.set_lookup(int(unit_id), url, business.secret)
        for plate, case_no, items in UNREGISTERED:
            business.add([plate, case_no], Record(_record(plate, case_no, items, payer)))
    return acquirer, business


def _record(
    plate: str, case_no: str, items: tuple[tuple[str, int], ...], payer: dict[str, str]
) -> dict[str, Any]:
    return {
        "biz_no": case_no,
        "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"]},
        "items": [{"item_code": code, "quantity": n} for code, n in items],
        "attributes": {"plate_no": plate, "case_no": case_no},
    }
