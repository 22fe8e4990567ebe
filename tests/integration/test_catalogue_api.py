"""The finance administration API of the fee catalogue (issue 10): the catalogue with its
standards' history; authorising a unit for an item and withdrawing it, idempotent by the natural
key, audited; a unit outside the bureau's region answers 404; a unit credential is refused."""

from __future__ import annotations

from typing import Any

from tests.conftest import payable_body
from tests.integration.console_kit import audit_rows
from tests.integration.receipt_kit import new_unit
from tests.integration.test_channel_scopes import finance


def _unit_code(stack: Any, unit_id: int) -> str:
    with stack.container.read_uow() as uow:
        unit = uow.units.get(unit_id)
    assert unit is not None
    return unit.code


def test_the_catalogue_lists_every_item_with_its_split_and_standards(stack: Any) -> None:
    listed = finance(stack).get("/api/v1/admin/fee-items")
    assert listed.status_code == 200, listed.text
    items = {item["code"]: item for item in listed.json()}
    plate = items["GA0101"]
    assert plate["standards"][0]["amount_fen"] == 10_000
    assert plate["split"]
    assert plate["destination"] in {"treasury", "special_account"}


def test_authorising_and_withdrawing_is_idempotent_and_takes_effect(
    stack: Any, payer: dict[str, str]
) -> None:
    unit_id, unit_api = new_unit(stack, stock_size=1)
    code = _unit_code(stack, unit_id)
    path = f"/api/v1/admin/units/{code}/items/JY0101"
    refused = unit_api.post("/api/v1/payables", payable_body(payer, "JY0101"))
    first, again = finance(stack).put(path), finance(stack).put(path)
    allowed = unit_api.post("/api/v1/payables", payable_body(payer, "JY0101"))
    withdrawn = finance(stack).request("DELETE", path)
    withdrawn_again = finance(stack).request("DELETE", path)
    assert refused.status_code == 403
    assert (first.status_code, again.status_code) == (200, 200)
    assert (
        first.json()
        == again.json()
        == {"unit_code": code, "item_code": "JY0101", "authorised": True}
    )
    assert allowed.status_code == 201, allowed.text
    assert (withdrawn.status_code, withdrawn_again.status_code) == (200, 200)
    assert withdrawn.json()["authorised"] is False
    granted = audit_rows(stack, "catalogue.item_granted", code)
    assert len(granted) == 1
    assert granted[0].actor.startswith("finance:")
    assert len(audit_rows(stack, "catalogue.item_revoked", code)) == 1


def test_unknown_or_foreign_units_and_items_answer_404_and_unit_credentials_401(
    stack: Any,
) -> None:
    from tests.integration.test_console_scope import _other_unit

    other_id, other_code, _, other_api = _other_unit(stack)
    foreign = finance(stack).put(f"/api/v1/admin/units/{other_code}/items/GA0101")
    unknown_unit = finance(stack).put("/api/v1/admin/units/NOSUCH1/items/GA0101")
    unknown_item = finance(stack).put("/api/v1/admin/units/330105101/items/ZZ9999")
    bad_code = finance(stack).put("/api/v1/admin/units/330105101/items/ga'or'1")
    as_unit = other_api.get("/api/v1/admin/fee-items")
    assert (foreign.status_code, unknown_unit.status_code, unknown_item.status_code) == (
        404,
        404,
        404,
    )
    assert bad_code.status_code in {404, 422}
    assert as_unit.status_code == 401
    assert not audit_rows(stack, "catalogue.item_granted", other_code)
    assert other_id
