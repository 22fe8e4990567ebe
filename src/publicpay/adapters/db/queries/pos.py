"""Read side of the window POS (W1): find a business record's payables by business number,
plate, licence or ID number, within the unit the window belongs to (scope in the query)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, or_, select

from publicpay.adapters.db.attributes import payable_attributes
from publicpay.adapters.db.payables import WITH_LINES, payables, payables_from_rows
from publicpay.domain.attributes import normalise
from publicpay.domain.payables import Payable
from publicpay.services.ports import Box

SHOWN = 20
_MATCHING = (
    select(payables.c.id)
    .where(
        payables.c.unit_id == bindparam("unit_id"),
        or_(
            payables.c.biz_no == bindparam("q"),
            payables.c.payment_code == bindparam("q"),
            payables.c.payer_id_hash == bindparam("id_hash"),
            payables.c.id.in_(
                select(payable_attributes.c.payable_id).where(
                    payable_attributes.c.value_hash == bindparam("attr_hash")
                )
            ),
        ),
    )
    .order_by(payables.c.id.desc())
    .limit(SHOWN)
)
_FOUND = WITH_LINES.where(payables.c.id.in_(_MATCHING.scalar_subquery()))
_ATTRIBUTES = select(
    payable_attributes.c.payable_id, payable_attributes.c.name, payable_attributes.c.value_masked
).where(payable_attributes.c.payable_id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True, slots=True)
class Found:
    payable: Payable
    attributes: dict[str, str]  # name -> masked value


def find_business(conn: Connection, box: Box, unit_id: int, q: str) -> list[Found]:
    """The unit's payables whose business number, payment code, payer ID number or business
    attribute (plate, licence …) is `q`; newest first, at most SHOWN."""
    q = q.strip()
    params = {
        "unit_id": unit_id,
        "q": q,
        "id_hash": box.lookup_hash(q.upper()),
        "attr_hash": box.lookup_hash(normalise(q)),
    }
    found = payables_from_rows(list(conn.execute(_FOUND, params)))
    if not found:
        return []
    attributes: dict[int, dict[str, str]] = {}
    for row in conn.execute(_ATTRIBUTES, {"ids": [p.id for p in found]}):
        attributes.setdefault(row.payable_id, {})[row.name] = row.value_masked
    ordered = sorted(found, key=lambda p: p.id, reverse=True)
    return [Found(p, attributes.get(p.id, {})) for p in ordered]
