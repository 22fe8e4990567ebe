"""The finance administration API for regions, units, sites, windows, users and fee-item edits
(issue 10), over HTTP: each route's happy path, bad input changing nothing (problem+json with a
Chinese detail), an out-of-scope record answering 404, idempotent repeats, audit rows with before
and after. Replays are in test_replays.py.

Two finance credentials: the demo bureau's (district 330105) and a city bureau's (330100) made
here, which sees its districts (330105 and 330110)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import func, select

from publicpay.adapters.db.schema import metadata
from publicpay.demo.seed import credit_code
from publicpay.domain.catalogue import (
    BudgetLevel,
    Category,
    Destination,
    FeeItem,
    Standard,
    StandardKind,
    single_level,
)
from tests.conftest import payable_body
from tests.integration.console_kit import audit_rows, ensure_region, submit_login
from tests.integration.test_channel_scopes import finance
from tests.integration.test_console_scope import OTHER_REGION, _other_unit
from tests.support.client import SignedClient

CITY = "330100"


@pytest.fixture(scope="module")
def city(stack: Any) -> SignedClient:
    """A city bureau's credential (杭州市): it administers every district of the city."""
    app_id, secret = f"pp_city_{secrets.token_hex(4)}", secrets.token_hex(16)
    with stack.container.uow() as uow:
        uow.units.add_client(app_id, "finance", None, secret, datetime.now(UTC), region_code=CITY)
        uow.commit()
    ensure_region(stack, OTHER_REGION, "余杭区", CITY)
    return SignedClient(stack.info["base_url"], app_id, secret)


def _count(stack: Any, table: str) -> int:
    with stack.container.engines.read.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()
        )


def _refused(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = str(response.json()["detail"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail), detail  # a Chinese message
    return detail


def _new_unit_body(region: str = "330105") -> dict[str, Any]:
    suffix = f"{secrets.randbelow(10**6):06d}"
    return {
        "code": f"337{suffix}",
        "name": f"接口测试单位{suffix}",
        "region_code": region,
        "credit_code": credit_code("11" + region, f"{suffix}00"),
        "contact": "张三 0571-88888888",
    }


def _free_district(stack: Any) -> str:
    with stack.container.read_uow() as uow:
        for _ in range(100):
            code = f"3301{secrets.randbelow(80) + 20:02d}"
            if uow.units.region(code) is None:
                return code
    raise AssertionError("no free district code")


# --- regions ----------------------------------------------------------------------------------


def test_a_city_bureau_lists_its_districts_and_adds_one_idempotently(
    stack: Any, city: SignedClient
) -> None:
    code = _free_district(stack)
    listed = city.get("/api/v1/admin/regions")
    first = city.post("/api/v1/admin/regions", {"code": code, "name": "测试区"})
    again = city.post("/api/v1/admin/regions", {"code": code, "name": "测试区"})
    renamed = city.post("/api/v1/admin/regions", {"code": code, "name": "另一个名字"})
    assert listed.status_code == 200, listed.text
    codes = {r["code"] for r in listed.json()}
    assert {CITY, "330105", OTHER_REGION} <= codes
    assert "330000" not in codes
    assert (first.status_code, again.status_code) == (201, 200), first.text
    assert first.json() == again.json() == {"code": code, "name": "测试区", "parent_code": CITY}
    _refused(renamed, 409)
    assert len(audit_rows(stack, "region.added", code)) == 1


def test_a_region_out_of_scope_or_malformed_is_refused_and_nothing_is_added(
    stack: Any, city: SignedClient
) -> None:
    before = _count(stack, "regions")
    district = finance(stack).post("/api/v1/admin/regions", {"code": "330199", "name": "越权区"})
    other_city = city.post("/api/v1/admin/regions", {"code": "330201", "name": "宁波某区"})
    malformed = city.post("/api/v1/admin/regions", {"code": "33'01", "name": "x"})
    _refused(district, 404)
    _refused(other_city, 404)
    _refused(malformed, 422)
    assert _count(stack, "regions") == before


# --- units ------------------------------------------------------------------------------------


def test_a_unit_is_created_once_with_a_working_credential_and_a_repeat_answers_the_same(
    stack: Any,
) -> None:
    body = _new_unit_body()
    first = finance(stack).post("/api/v1/admin/units", body)
    again = finance(stack).post("/api/v1/admin/units", body)
    other = finance(stack).post("/api/v1/admin/units", {**body, "name": "另一个单位名称"})
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["app_secret"]
    assert made["app_id"] == f"pp_{body['code']}"
    assert made["contact"] == body["contact"]
    assert made["active"] is True
    unit_api = SignedClient(stack.info["base_url"], made["app_id"], made["app_secret"])
    assert unit_api.get("/api/v1/events?after=0").status_code == 200
    assert again.status_code == 200, again.text
    assert again.json()["app_secret"] is None
    assert {k: v for k, v in again.json().items() if k != "app_secret"} == {
        k: v for k, v in made.items() if k != "app_secret"
    }
    _refused(other, 409)
    assert len(audit_rows(stack, "unit.added", body["code"])) == 1


def test_bad_unit_input_is_refused_in_chinese_and_adds_nothing(stack: Any) -> None:
    before = _count(stack, "units")
    body = _new_unit_body()
    bad_credit = finance(stack).post("/api/v1/admin/units", {**body, "credit_code": "1" * 18})
    foreign_region = finance(stack).post("/api/v1/admin/units", {**body, "region_code": "330110"})
    sql_like = finance(stack).post("/api/v1/admin/units", {**body, "code": "1' OR '1'='1"})
    missing = finance(stack).post("/api/v1/admin/units", {"code": body["code"]})
    assert "信用代码" in _refused(bad_credit, 422)
    _refused(foreign_region, 422)
    _refused(sql_like, 422)
    _refused(missing, 422)
    assert _count(stack, "units") == before
    assert not audit_rows(stack, "unit.added", body["code"])


def test_a_unit_is_edited_disabled_and_enabled_with_before_and_after_audited(
    stack: Any, city: SignedClient
) -> None:
    made = finance(stack).post("/api/v1/admin/units", _new_unit_body()).json()
    code, path = made["code"], f"/api/v1/admin/units/{made['code']}"
    unit_api = SignedClient(stack.info["base_url"], made["app_id"], made["app_secret"])
    edited = finance(stack).request("PATCH", path, {"name": "改名后的单位", "contact": "李四"})
    same = finance(stack).request("PATCH", path, {"name": "改名后的单位"})
    moved_out = finance(stack).request("PATCH", path, {"region_code": OTHER_REGION})
    moved_by_city = city.request("PATCH", path, {"region_code": OTHER_REGION})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["contact"]) == ("改名后的单位", "李四")
    assert same.status_code == 200
    _refused(moved_out, 422)  # the district bureau does not administer 330110
    assert moved_by_city.status_code == 200, moved_by_city.text
    assert moved_by_city.json()["region_code"] == OTHER_REGION
    updates = audit_rows(stack, "unit.updated", code)
    assert len(updates) == 2  # the repeat changed nothing and wrote nothing
    assert updates[0].detail["before"]["name"] == made["name"]
    assert updates[0].detail["after"] == {"name": "改名后的单位", "contact": "李四"}
    assert updates[0].actor.startswith("finance:")
    # disabled: its business system is refused until it is enabled again
    disabled = city.post(f"{path}/disable")
    disabled_again = city.post(f"{path}/disable")
    refused = unit_api.get("/api/v1/events?after=0")
    enabled = city.post(f"{path}/enable")
    allowed = unit_api.get("/api/v1/events?after=0")
    assert (disabled.status_code, disabled_again.status_code) == (200, 200)
    assert disabled.json()["active"] is False
    assert "停用" in _refused(refused, 401)
    assert enabled.json()["active"] is True
    assert allowed.status_code == 200
    assert len(audit_rows(stack, "unit.disabled", code)) == 1
    assert len(audit_rows(stack, "unit.enabled", code)) == 1


def test_a_district_bureau_does_not_see_another_districts_unit(
    stack: Any, city: SignedClient
) -> None:
    _, other_code, other_name, other_api = _other_unit(stack)
    path = f"/api/v1/admin/units/{other_code}"
    listed = finance(stack).get("/api/v1/admin/units")
    seen_by_city = city.get("/api/v1/admin/units")
    answers = [
        finance(stack).get(path),
        finance(stack).request("PATCH", path, {"name": "越权改名"}),
        finance(stack).post(f"{path}/disable"),
        finance(stack).post(
            f"{path}/sites", {"code": "X-1", "name": "越权网点", "kind": "service_hall"}
        ),
    ]
    assert listed.status_code == 200
    assert other_code not in {u["code"] for u in listed.json()}
    assert other_code in {u["code"] for u in seen_by_city.json()}
    for answer in answers:
        _refused(answer, 404)
    assert city.get(path).json()["name"] == other_name
    assert other_api.get("/api/v1/events?after=0").status_code == 200  # not disabled
    assert not audit_rows(stack, "unit.updated", other_code)


# --- sites and windows ------------------------------------------------------------------------


def test_sites_and_windows_are_added_renamed_closed_and_reopened(stack: Any) -> None:
    unit = finance(stack).post("/api/v1/admin/units", _new_unit_body()).json()
    base = f"/api/v1/admin/units/{unit['code']}/sites"
    site_code = f"S-{secrets.token_hex(3)}"
    site = {"code": site_code, "name": "政务服务大厅", "kind": "service_hall", "address": "某路1号"}
    first = finance(stack).post(base, site)
    again = finance(stack).post(base, site)
    clash = finance(stack).post(base, {**site, "name": "别的大厅"})
    window = finance(stack).post(f"{base}/{site_code}/windows", {"number": "01", "name": "综合"})
    window_again = finance(stack).post(
        f"{base}/{site_code}/windows", {"number": "01", "name": "综合"}
    )
    wpath = f"{base}/{site_code}/windows/01"
    renamed = finance(stack).request("PATCH", wpath, {"name": "综合受理"})
    closed = finance(stack).post(f"{wpath}/close")
    closed_again = finance(stack).post(f"{wpath}/close")
    site_renamed = finance(stack).request("PATCH", f"{base}/{site_code}", {"name": "新大厅"})
    site_closed = finance(stack).post(f"{base}/{site_code}/close")
    site_reopened = finance(stack).post(f"{base}/{site_code}/reopen")
    assert (first.status_code, again.status_code) == (201, 200), first.text
    _refused(clash, 409)
    assert (window.status_code, window_again.status_code) == (201, 200), window.text
    assert renamed.json() == {"number": "01", "name": "综合受理", "active": True}
    assert closed.json()["active"] is False
    assert closed_again.status_code == 200
    assert site_renamed.json()["name"] == "新大厅"
    assert site_closed.json()["active"] is False
    assert site_reopened.json()["active"] is True
    detail = finance(stack).get(f"/api/v1/admin/units/{unit['code']}").json()
    assert detail["sites"][0]["windows"] == [{"number": "01", "name": "综合受理", "active": False}]
    updates = audit_rows(stack, "window.updated", f"{site_code}/01")
    assert [u.detail["after"] for u in updates] == [{"name": "综合受理"}, {"active": False}]
    assert len(audit_rows(stack, "site.updated", site_code)) == 3


def test_bad_site_and_window_input_is_refused_and_changes_nothing(stack: Any) -> None:
    unit = finance(stack).post("/api/v1/admin/units", _new_unit_body()).json()
    base = f"/api/v1/admin/units/{unit['code']}/sites"
    site_code = f"S-{secrets.token_hex(3)}"
    finance(stack).post(base, {"code": site_code, "name": "大厅", "kind": "service_hall"})
    before = (_count(stack, "sites"), _count(stack, "windows"))
    bad_kind = finance(stack).post(base, {"code": "S-x1", "name": "大厅", "kind": "castle"})
    bad_number = finance(stack).post(f"{base}/{site_code}/windows", {"number": "01/../"})
    no_site = finance(stack).post(f"{base}/NOSITE/windows", {"number": "02"})
    empty_name = finance(stack).request("PATCH", f"{base}/{site_code}", {"name": " "})
    _refused(bad_kind, 422)
    _refused(bad_number, 422)
    _refused(no_site, 404)
    _refused(empty_name, 422)
    assert (_count(stack, "sites"), _count(stack, "windows")) == before


# --- users ------------------------------------------------------------------------------------


def _user_body(unit_code: str, role: str = "cashier") -> dict[str, Any]:
    return {"username": f"api_{secrets.token_hex(4)}", "role": role, "unit_code": unit_code}


def test_a_user_is_created_with_one_time_credentials_that_log_in(stack: Any, base_url: str) -> None:
    unit = finance(stack).post("/api/v1/admin/units", _new_unit_body()).json()
    body = _user_body(unit["code"])
    first = finance(stack).post("/api/v1/admin/users", body)
    again = finance(stack).post("/api/v1/admin/users", body)
    other_role = finance(stack).post("/api/v1/admin/users", {**body, "role": "unit_admin"})
    assert first.status_code == 201, first.text
    made = first.json()
    assert (made["role"], made["unit_code"], made["must_change_password"]) == (
        "cashier",
        unit["code"],
        True,
    )
    creds = made["credentials"]
    assert creds["otpauth_uri"].startswith("otpauth://totp/")
    with httpx.Client(base_url=base_url, timeout=15) as browser:
        code = pyotp.TOTP(creds["totp_secret"]).now()
        login = submit_login(browser, body["username"], creds["password"], code)
    assert login.status_code == 303, login.text
    assert again.status_code == 200
    assert again.json()["credentials"] is None
    _refused(other_role, 409)
    listed = {u["username"] for u in finance(stack).get("/api/v1/admin/users").json()}
    assert body["username"] in listed
    assert len(audit_rows(stack, "console.user_created", body["username"])) == 1


def test_users_are_disabled_reset_and_given_another_role(stack: Any) -> None:
    unit = finance(stack).post("/api/v1/admin/units", _new_unit_body()).json()
    body = _user_body(unit["code"])
    finance(stack).post("/api/v1/admin/users", body)
    path = f"/api/v1/admin/users/{body['username']}"
    disabled = finance(stack).post(f"{path}/disable")
    enabled = finance(stack).post(f"{path}/enable")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    reset = finance(stack).post(f"{path}/reset", extra_headers=key)
    reset_retry = finance(stack).post(f"{path}/reset", extra_headers=key)
    reset_new = finance(stack).post(f"{path}/reset")
    promoted = finance(stack).put(f"{path}/role", {"role": "unit_admin", "unit_code": unit["code"]})
    promoted_again = finance(stack).put(
        f"{path}/role", {"role": "unit_admin", "unit_code": unit["code"]}
    )
    assert disabled.json()["active"] is False
    assert enabled.json()["active"] is True
    assert reset.status_code == 200, reset.text
    assert reset_retry.headers.get("Idempotent-Replayed") == "true"
    assert reset_retry.json()["credentials"] == reset.json()["credentials"]
    assert reset_new.json()["credentials"]["password"] != reset.json()["credentials"]["password"]
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "unit_admin"
    assert promoted_again.status_code == 200
    changes = audit_rows(stack, "console.user_role_changed", body["username"])
    assert len(changes) == 1
    assert changes[0].detail["before"]["role"] == "cashier"
    assert changes[0].detail["after"]["role"] == "unit_admin"
    assert len(audit_rows(stack, "console.user_reset", body["username"])) == 2
    with stack.container.read_uow() as uow:
        stored = uow.connection.execute(
            select(metadata.tables["idempotency_keys"].c.response)
        ).all()
    password = reset.json()["credentials"]["password"]
    assert all(password.encode() not in bytes(r.response or b"") for r in stored)


def test_user_requests_out_of_scope_or_malformed_are_refused_and_change_nothing(
    stack: Any,
) -> None:
    other_id, other_code, _, _ = _other_unit(stack)
    foreign = _user_body(other_code)
    created_by_city_scope = finance(stack).post("/api/v1/admin/users", foreign)
    region_above = finance(stack).post(
        "/api/v1/admin/users",
        {"username": f"api_{secrets.token_hex(4)}", "role": "finance_admin", "region_code": CITY},
    )
    bad_name = finance(stack).post(
        "/api/v1/admin/users", {**_user_body("330105101"), "username": "Robert'); DROP"}
    )
    no_unit = finance(stack).post(
        "/api/v1/admin/users", {"username": f"api_{secrets.token_hex(4)}", "role": "cashier"}
    )
    from tests.integration.console_kit import make_user

    outsider = make_user(stack, "cashier", unit_id=other_id)
    answers = [
        finance(stack).post(f"/api/v1/admin/users/{outsider.username}/disable"),
        finance(stack).post(f"/api/v1/admin/users/{outsider.username}/reset"),
        finance(stack).put(
            f"/api/v1/admin/users/{outsider.username}/role",
            {"role": "auditor", "region_code": "330105"},
        ),
    ]
    _refused(created_by_city_scope, 404)
    assert region_above.status_code == 403, region_above.text
    _refused(bad_name, 422)
    _refused(no_unit, 422)
    for answer in answers:
        _refused(answer, 404)
    assert not audit_rows(stack, "console.user_disabled", outsider.username)
    assert not audit_rows(stack, "console.user_created", foreign["username"])


# --- fee items --------------------------------------------------------------------------------


def _new_item(stack: Any, unit_app_id: str) -> str:
    """A fee item of this test's own (fixed 25.00 yuan, all to the county), granted to the unit."""
    code = f"T{secrets.randbelow(10**6):06d}"
    item = FeeItem(
        code=code,
        name="接口测试收费",
        category=Category.ADMIN_FEE,
        budget_subject="1030401",
        destination=Destination.TREASURY,
        unit_of_measure="次",
        split=single_level(BudgetLevel.COUNTY),
        standards=(Standard(StandardKind.FIXED, date(2020, 1, 1), amount_fen=2500, basis="测试"),),
        legal_basis="测试依据",
    )
    client = stack.container.api_client(unit_app_id)
    with stack.container.uow() as uow:
        uow.catalogue.add_item(item)
        uow.catalogue.authorise(client.unit_id, (code,))
        uow.commit()
    return code


def test_a_fee_items_split_is_edited_and_an_issued_payable_keeps_its_amount(
    stack: Any, unit: dict[str, Any], payer: dict[str, str]
) -> None:
    code = _new_item(stack, unit["app_id"])
    unit_api = SignedClient(stack.info["base_url"], unit["app_id"], unit["app_secret"])
    issued = unit_api.post("/api/v1/payables", payable_body(payer, code))
    assert issued.status_code == 201, issued.text
    items = {i["code"]: i for i in finance(stack).get("/api/v1/admin/fee-items").json()}
    new_split = [{"level": "province", "weight": 3}, {"level": "county", "weight": 7}]
    path = f"/api/v1/admin/fee-items/{code}"
    edited = finance(stack).request(
        "PATCH", path, {"split": new_split, "name": "接口测试收费（改）"}
    )
    payable = unit_api.get(f"/api/v1/payables/{issued.json()['payment_code']}")
    assert edited.status_code == 200, edited.text
    assert [(s["level"], s["weight"]) for s in edited.json()["split"]] == [
        ("province", 3),
        ("county", 7),
    ]
    assert edited.json()["name"] == "接口测试收费（改）"
    assert edited.json()["standards"] == items[code]["standards"]
    assert payable.json()["amount_fen"] == issued.json()["amount_fen"] == 2500
    (row,) = audit_rows(stack, "catalogue.item_updated", code)
    assert row.detail["before"] == {"name": "接口测试收费", "split": [["county", 1, None]]}
    assert row.detail["after"]["split"] == [["province", 3, None], ["county", 7, None]]


def test_a_split_that_does_not_add_up_is_refused_and_the_item_is_unchanged(
    stack: Any, unit: dict[str, Any]
) -> None:
    code = _new_item(stack, unit["app_id"])
    path = f"/api/v1/admin/fee-items/{code}"
    before = {i["code"]: i for i in finance(stack).get("/api/v1/admin/fee-items").json()}
    fixed_only = [{"level": "central", "fixed_fen": 100}]
    twice = [{"level": "city", "weight": 1}, {"level": "city", "weight": 2}]
    unknown = finance(stack).request(
        "PATCH", "/api/v1/admin/fee-items/ZZ9999", {"name": "无此项目"}
    )
    answers = [
        finance(stack).request("PATCH", path, {"split": fixed_only}),
        finance(stack).request("PATCH", path, {"split": twice}),
        finance(stack).request("PATCH", path, {"split": []}),
        finance(stack).request("PATCH", path, {"budget_subject": "abc"}),
    ]
    for answer in answers:
        _refused(answer, 422)
    _refused(unknown, 404)
    after = {i["code"]: i for i in finance(stack).get("/api/v1/admin/fee-items").json()}
    assert after[code] == before[code]
    assert not audit_rows(stack, "catalogue.item_updated", code)
