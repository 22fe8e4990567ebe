"""The finance administration API of the fee catalogue (issue 10): the catalogue with its
standards' history; creating an item (idempotent by code) and adding a standard (idempotent by
content, overlapping dates 409, never repricing an issued payable); authorising a unit for an
item and withdrawing it, idempotent by the natural key, audited; a unit outside the bureau's
region answers 404; a bureau of another region may not edit the catalogue (403); a unit
credential is refused."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from publicpay.domain.time import business_date
from tests.conftest import payable_body
from tests.integration.console_kit import audit_rows
from tests.integration.receipt_kit import new_unit
from tests.integration.test_channel_scopes import finance
from tests.support.client import SignedClient

ITEMS = "/api/v1/admin/fee-items"


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


def _refused(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = str(response.json()["detail"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail), detail  # a Chinese message
    return detail


def _item_body(code: str, **changes: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": "接口新增收费",
        "category": "admin_fee",
        "budget_subject": "1030199",
        "destination": "treasury",
        "unit_of_measure": "次",
        "legal_basis": "测价〔2026〕1号",
        "split": [{"level": "central", "fixed_fen": 100}, {"level": "county", "weight": 1}],
        "standards": [
            {
                "kind": "fixed",
                "amount_fen": 2500,
                "valid_from": "2020-01-01",
                "basis": "测价〔2020〕1号",
            }
        ],
        **changes,
    }


def _catalogue(stack: Any) -> dict[str, Any]:
    return {item["code"]: item for item in finance(stack).get(ITEMS).json()}


def _new_code() -> str:
    return f"AP{secrets.randbelow(10**8):08d}"


def test_a_fee_item_is_created_once_and_a_repeat_answers_the_same(stack: Any) -> None:
    code = _new_code()
    created = finance(stack).post(ITEMS, _item_body(code))
    again = finance(stack).post(ITEMS, _item_body(code))
    assert created.status_code == 201, created.text
    assert again.status_code == 200, again.text
    assert created.json() == again.json() == _catalogue(stack)[code]
    assert created.json()["standards"][0]["amount_fen"] == 2500
    assert [(s["level"], s["weight"], s["fixed_fen"]) for s in created.json()["split"]] == [
        ("central", 0, 100),
        ("county", 1, None),
    ]
    (row,) = audit_rows(stack, "catalogue.item_added", code)
    assert row.actor.startswith("finance:")
    assert row.detail["from"].startswith("finance:")


def test_a_conflicting_repeat_or_a_bad_item_is_refused_and_changes_nothing(stack: Any) -> None:
    code, fresh = _new_code(), _new_code()
    assert finance(stack).post(ITEMS, _item_body(code)).status_code == 201
    before = _catalogue(stack)
    overlapping = [
        {"kind": "fixed", "amount_fen": 100, "valid_from": "2020-01-01", "basis": "甲"},
        {"kind": "fixed", "amount_fen": 200, "valid_from": "2021-01-01", "basis": "乙"},
    ]
    conflicting = finance(stack).post(ITEMS, _item_body(code, name="另一个名称"))
    bad = [
        _item_body(fresh, split=[{"level": "central", "fixed_fen": 100}]),  # money nowhere
        _item_body(fresh, split=[{"level": "city", "weight": 1}, {"level": "city", "weight": 2}]),
        _item_body(fresh, split=[]),
        _item_body(fresh, budget_subject="abc"),
        _item_body(fresh, legal_basis=" "),
        _item_body("lower'or'1"),
        _item_body(fresh, standards=overlapping),
        _item_body(
            fresh,
            standards=[
                {
                    "kind": "range",
                    "min_fen": 500,
                    "max_fen": 100,
                    "valid_from": "2020-01-01",
                    "basis": "丙",
                }
            ],
        ),
    ]
    answers = [finance(stack).post(ITEMS, body) for body in bad]
    malformed = [
        finance(stack).post(ITEMS, _item_body(fresh, split=[{"level": "town", "weight": 1}])),
        finance(stack).post(ITEMS, _item_body(fresh, standards=[])),
        finance(stack).post(ITEMS, _item_body(fresh, category="tax")),
        finance(stack).post(ITEMS, {"code": fresh}),
    ]
    assert "内容不同" in _refused(conflicting, 409)
    for answer in answers:
        _refused(answer, 422)
    for answer in malformed:
        assert answer.status_code in {400, 422}, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    after = _catalogue(stack)
    assert after == before
    assert fresh not in after
    assert len(audit_rows(stack, "catalogue.item_added", code)) == 1
    assert not audit_rows(stack, "catalogue.item_added", fresh)


def test_a_new_standard_prices_later_registrations_and_never_an_issued_payable(
    stack: Any, payer: dict[str, str]
) -> None:
    today = business_date(stack.container.clock.now())
    code = _new_code()
    unit_id, unit_api = new_unit(stack, stock_size=4)
    assert finance(stack).post(ITEMS, _item_body(code)).status_code == 201
    granted = finance(stack).put(f"/api/v1/admin/units/{_unit_code(stack, unit_id)}/items/{code}")
    issued = unit_api.post("/api/v1/payables", payable_body(payer, code))
    standard = {"kind": "fixed", "amount_fen": 3000, "valid_from": today.isoformat(),
                "basis": "测价〔2026〕9号"}  # fmt: skip
    path = f"{ITEMS}/{code}/standards"
    added = finance(stack).post(path, standard)
    again = finance(stack).post(path, standard)
    later = unit_api.post("/api/v1/payables", payable_body(payer, code))
    kept = unit_api.get(f"/api/v1/payables/{issued.json()['payment_code']}")
    assert granted.status_code == 200, granted.text
    assert issued.status_code == 201, issued.text
    assert (added.status_code, again.status_code) == (201, 200), added.text
    assert added.json() == again.json()
    history = [(s["amount_fen"], s["valid_from"], s["valid_to"]) for s in added.json()["standards"]]
    yesterday = (today - timedelta(days=1)).isoformat()
    assert history == [(2500, "2020-01-01", yesterday), (3000, today.isoformat(), None)]
    assert later.status_code == 201, later.text
    assert later.json()["amount_fen"] == 3000
    assert kept.json()["amount_fen"] == issued.json()["amount_fen"] == 2500
    (row,) = audit_rows(stack, "catalogue.standard_added", code)
    assert row.detail["closed"]["amount_fen"] == 2500


def test_an_overlapping_or_backdated_standard_is_refused_and_changes_nothing(
    stack: Any,
) -> None:
    today = business_date(stack.container.clock.now())
    code = _new_code()
    dated = {"kind": "fixed", "amount_fen": 100, "valid_from": "2020-01-01",
             "valid_to": (today + timedelta(days=30)).isoformat(), "basis": "甲"}  # fmt: skip
    assert finance(stack).post(ITEMS, _item_body(code, standards=[dated])).status_code == 201
    before = _catalogue(stack)[code]
    path = f"{ITEMS}/{code}/standards"
    soon = (today + timedelta(days=10)).isoformat()
    overlapping = finance(stack).post(
        path, {"kind": "fixed", "amount_fen": 200, "valid_from": soon, "basis": "乙"}
    )
    backdated = finance(stack).post(
        path,
        {
            "kind": "fixed",
            "amount_fen": 200,
            "valid_from": "2019-01-01",
            "valid_to": "2019-12-31",
            "basis": "丙",
        },
    )
    no_basis = finance(stack).post(
        path, {"kind": "fixed", "amount_fen": 200, "valid_from": "2099-01-01", "basis": " "}
    )
    negative = finance(stack).post(
        path, {"kind": "fixed", "amount_fen": -5, "valid_from": "2099-01-01", "basis": "丁"}
    )
    as_float = finance(stack).post(
        path, {"kind": "fixed", "amount_fen": 1.5, "valid_from": "2099-01-01", "basis": "丁"}
    )
    unknown = finance(stack).post(
        f"{ITEMS}/ZZ9999/standards",
        {"kind": "fixed", "amount_fen": 200, "valid_from": "2099-01-01", "basis": "戊"},
    )
    assert "重叠" in _refused(overlapping, 409)
    assert "不能早于今天" in _refused(backdated, 422)
    _refused(no_basis, 422)
    _refused(unknown, 404)
    for answer in (negative, as_float):
        assert answer.status_code in {400, 422}, answer.text
    assert _catalogue(stack)[code] == before
    assert not audit_rows(stack, "catalogue.standard_added", code)


def test_a_bureau_of_another_region_may_not_edit_the_catalogue(stack: Any) -> None:
    app_id, secret = f"pp_nb_{secrets.token_hex(4)}", secrets.token_hex(16)
    with stack.container.uow() as uow:
        uow.units.add_client(
            app_id, "finance", None, secret, datetime.now(UTC), region_code="330200"
        )
        uow.commit()
    ningbo = SignedClient(stack.info["base_url"], app_id, secret)
    code = _new_code()
    created = ningbo.post(ITEMS, _item_body(code))
    standard = ningbo.post(
        f"{ITEMS}/GA0101/standards",
        {"kind": "fixed", "amount_fen": 1, "valid_from": "2099-01-01", "basis": "己"},
    )
    _refused(created, 403)
    _refused(standard, 403)
    assert code not in _catalogue(stack)
    assert not audit_rows(stack, "catalogue.standard_added", "GA0101")
