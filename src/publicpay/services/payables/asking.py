"""Asking a unit's business system for a business record not registered yet (或向业务系统查询).

"No business, no payable": when the window finds nothing for a plate, licence, ID or business
number, the platform asks the unit's business system — a signed POST to the URL the unit
configured (`business.lookup`, like a webhook) — and the business system answers with the
record as the registration body it would have sent (`{"found": true, "payable": {...}}`) or
`{"found": false}`. The answer is registered exactly as the unit API registers (same checks,
same pricing from the catalogue, idempotent on the business number), so the payable the cashier
then takes payment for is the business system's, priced by the platform.

Refusals, each with a message for the cashier and nothing registered: no lookup URL configured,
no answer in time or an HTTP error (BusinessSystemUnavailable), an unsigned or badly signed or
malformed answer, or a record the registration refuses (BusinessAnswerInvalid).

Workflow: calls the business system between transactions.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from publicpay.domain.errors import DomainError, ValidationFailed
from publicpay.domain.payables import Payable
from publicpay.services.payables.ports import BusinessSystem
from publicpay.services.payables.registration import RegisterPayable, register_payable
from publicpay.services.ports import Clock
from publicpay.services.unit_of_work import UnitOfWork

EVENT = "business.lookup"


class BusinessSystemUnavailable(DomainError):
    code = "business_system_unavailable"
    title = "业务系统暂无应答"


class BusinessAnswerInvalid(DomainError):
    code = "business_answer_invalid"
    title = "业务系统应答无效"


@dataclass(frozen=True, slots=True)
class BusinessQuery:
    unit_id: int
    q: str  # what the cashier typed or scanned
    place: str = ""  # the site and window asking
    operator: str = ""  # the cashier (or the device) asking


def ask_business_system(
    new_uow: Callable[[], UnitOfWork],
    system: BusinessSystem,
    query: BusinessQuery,
    *,
    parse: Callable[[int, Mapping[str, Any]], RegisterPayable],
    clock: Clock,
    region_code: str,
    serial_floor: int = 0,
) -> Payable | None:
    """The payable the business system's answer registered (None: it has no such record).
    `parse`: the registration body → the command (the unit API's own validation)."""
    with new_uow() as uow:
        unit = uow.units.get(query.unit_id)
    if unit is None or not unit.lookup_url or not unit.lookup_secret:
        raise ValidationFailed("本单位尚未配置业务系统查询地址，请在业务系统中完成登记后再查找")
    now = clock.now()
    body = {
        "id": "lk_" + secrets.token_hex(12),
        "type": EVENT,
        "created_at": now.isoformat(),
        "data": {"q": query.q, "place": query.place, "operator": query.operator},
    }
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    answer = system.ask(unit.lookup_url, unit.lookup_secret, EVENT, raw)
    found = answer.get("found")
    if found is False:
        return None
    record = answer.get("payable")
    if found is not True or not isinstance(record, dict):
        raise BusinessAnswerInvalid('业务系统应答格式有误：应为 {"found": true, "payable": {…}}')
    try:
        cmd = parse(unit.id, record)
        registered = register_payable(
            new_uow(), cmd, region_code=region_code, clock=clock, serial_floor=serial_floor
        )
    except DomainError as exc:
        raise BusinessAnswerInvalid(f"业务系统返回的业务记录无法登记：{exc.detail}") from exc
    return registered.payable
