"""The administration screens (issue 10): a finance admin sets a unit up entirely in the
console — region, unit (its signing key and business-system credential, the secret shown
once), a site with numbered windows, a fee item with its split and standard, a new standard
closing the old one, the unit's authorisation — and the unit's system then registers a payable
of that item with its credential. Bad input (a split that does not add up, overlapping or
retroactive standards, a bad credit code, SQL-looking strings) changes nothing."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from publicpay.adapters.db.units import regions
from publicpay.demo.seed import credit_code
from publicpay.domain.time import business_date
from tests.conftest import payable_body
from tests.integration.console_kit import audit_rows, csrf_of, logged_in, make_user
from tests.integration.receipt_kit import new_unit
from tests.support.client import SignedClient


def _post(client: httpx.Client, page: str, action: str, **fields: Any) -> httpx.Response:
    form = client.get(page)
    assert form.status_code == 200, form.text
    return client.post(action, data={"csrf": csrf_of(form.text), **fields})


def _new_unit(client: httpx.Client, stack: Any) -> tuple[int, str, str, str]:
    code = f"55{secrets.randbelow(10**7):07d}"
    made = _post(
        client,
        "/console/units",
        "/console/units",
        code=code,
        name=f"测试执收单位{code}",
        region_code=stack.container.settings.region_code,
        credit_code=credit_code("11330105", code[-8:]),
    )
    assert made.status_code == 200, made.text
    app_id = re.search(r'id="app-id">([^<]+)<', made.text)
    secret = re.search(r'id="secret-value">([0-9a-f]{64})<', made.text)
    link = re.search(r'href="/console/units/(\d+)" id="created-link"', made.text)
    assert app_id
    assert secret
    assert link
    return int(link.group(1)), code, app_id.group(1), secret.group(1)


def _item_fields(code: str, today: str, **overrides: str) -> dict[str, str]:
    fields = {
        "code": code,
        "name": f"测试收费项目{code}",
        "category": "admin_fee",
        "budget_subject": "1030401",
        "destination": "treasury",
        "unit_of_measure": "次",
        "legal_basis": "《测试收费管理办法》",
        "w_province": "3",
        "w_county": "7",
        "kind": "fixed",
        "amount": "12.50",
        "valid_from": today,
        "basis": "测价〔2026〕1号",
    }
    return {**fields, **overrides}


def test_a_finance_admin_sets_up_a_unit_and_its_item_and_the_unit_registers_with_it(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    today = business_date(stack.container.clock.now()).isoformat()
    item_code = f"TS{secrets.randbelow(10**6):06d}"
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        unit_id, unit_code, app_id, secret = _new_unit(admin, stack)
        page = f"/console/units/{unit_id}"
        site = _post(
            admin,
            page,
            f"{page}/sites",
            code=f"S{unit_code}",
            name="测试办事大厅",
            kind="service_hall",
            address="拱墅区测试路1号",
        )
        assert site.status_code == 303
        site_id = re.search(rf"{page}/sites/(\d+)/windows", admin.get(page).text)
        assert site_id
        for number in ("01", "02"):
            window = _post(admin, page, f"{page}/sites/{site_id.group(1)}/windows", number=number)
            assert window.status_code == 303
        item = _post(
            admin, "/console/catalogue", "/console/catalogue", **_item_fields(item_code, today)
        )
        assert item.status_code == 303, item.text
        granted = _post(admin, page, f"{page}/grants", item_code=item_code)
        assert granted.status_code == 303
        shown = admin.get(page).text
    assert "01" in shown
    assert "02" in shown
    assert f'data-item="{item_code}"' in shown
    unit_api = SignedClient(base_url, app_id, secret)
    body = payable_body(payer, item_code, items=[{"item_code": item_code, "quantity": 2}])
    registered = unit_api.post("/api/v1/payables", body)
    assert registered.status_code == 201, registered.text
    assert registered.json()["amount_fen"] == 2500
    assert audit_rows(stack, "unit.added", unit_code)[0].detail["after"]["app_id"] == app_id
    assert audit_rows(stack, "catalogue.item_granted", unit_code)


def test_a_new_standard_closes_the_old_one_and_never_reprices_an_issued_payable(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    clock_today = business_date(stack.container.clock.now())
    today, tomorrow = clock_today.isoformat(), (clock_today + timedelta(days=1)).isoformat()
    item_code = f"TS{secrets.randbelow(10**6):06d}"
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        unit_id, _, app_id, secret = _new_unit(admin, stack)
        _post(admin, "/console/catalogue", "/console/catalogue", **_item_fields(item_code, today))
        _post(
            admin,
            f"/console/units/{unit_id}",
            f"/console/units/{unit_id}/grants",
            item_code=item_code,
        )
        unit_api = SignedClient(base_url, app_id, secret)
        body = payable_body(payer, item_code)
        issued = unit_api.post("/api/v1/payables", body).json()
        page = f"/console/catalogue/{item_code}"
        added = _post(
            admin,
            page,
            f"{page}/standards",
            kind="fixed",
            amount="20.00",
            valid_from=tomorrow,
            basis="测价〔2026〕2号",
        )
        overlapping = _post(
            admin,
            page,
            f"{page}/standards",
            kind="fixed",
            amount="30.00",
            valid_from=tomorrow,
            basis="测价〔2026〕3号",
        )
        past = _post(
            admin,
            page,
            f"{page}/standards",
            kind="fixed",
            amount="30.00",
            valid_from="2020-01-01",
            basis="测价〔2020〕1号",
        )
        history = admin.get(page).text
    assert added.status_code == 303, added.text
    assert (overlapping.status_code, past.status_code) == (422, 422)
    assert "重叠" in overlapping.text
    assert "不能早于今天" in past.text
    assert f'<td data-label="截止日期">{today}</td>' in history  # the old one ends today
    assert "待生效" in history
    again = unit_api.get(f"/api/v1/payables/{issued['payment_code']}").json()
    assert again["amount_fen"] == issued["amount_fen"] == 1250


def test_a_split_that_does_not_add_up_or_a_bad_item_is_refused_and_nothing_is_saved(
    stack: Any, base_url: str
) -> None:
    today = business_date(stack.container.clock.now()).isoformat()
    code = f"TS{secrets.randbelow(10**6):06d}"
    cases = [
        ({"w_province": "", "w_county": ""}, "不能为空"),
        ({"w_province": "", "w_county": "", "f_city": "5.00"}, "按比例"),
        ({"w_county": "-1"}, "非负整数"),
        ({"f_province": "1.00"}, "二选一"),
        ({"amount": "12.505"}, "金额格式"),
        ({"budget_subject": "1' OR '1'='1"}, "预算科目"),
        ({"basis": ""}, "依据"),
    ]
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        for overrides, message in cases:
            refused = _post(
                admin,
                "/console/catalogue",
                "/console/catalogue",
                **_item_fields(code, today, **overrides),
            )
            assert refused.status_code == 422, (overrides, refused.status_code)
            assert message in refused.text, (overrides, message)
        assert admin.get(f"/console/catalogue/{code}").status_code == 404
    assert not audit_rows(stack, "catalogue.item_added", code)


def test_a_bad_unit_is_refused_with_its_reason(stack: Any, base_url: str) -> None:
    region = stack.container.settings.region_code
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        bad_credit = _post(
            admin,
            "/console/units",
            "/console/units",
            code="556677",
            name="信用代码错误的单位",
            region_code=region,
            credit_code="91330105MA27XXXXXX",
        )
        elsewhere = _post(
            admin,
            "/console/units",
            "/console/units",
            code="556678",
            name="外区单位",
            region_code="110101",
            credit_code=credit_code("11330105", "00556678"),
        )
        listed = admin.get("/console/units").text
    assert bad_credit.status_code == 422
    assert "统一社会信用代码无效" in bad_credit.text
    assert elsewhere.status_code == 422
    assert "管辖范围" in elsewhere.text
    assert "556677" not in listed


def _unused_district(stack: Any) -> str:
    """A district of 330100 no test has added (the stack is shared by every test module)."""
    with stack.container.engines.read.connect() as conn:
        taken = set(conn.execute(select(regions.c.code)).scalars())
    return next(f"3301{n:02d}" for n in range(99, 0, -1) if f"3301{n:02d}" not in taken)


def test_a_district_admin_adds_and_renames_regions_below_its_own_only(
    stack: Any, base_url: str
) -> None:
    code = _unused_district(stack)
    with logged_in(base_url, make_user(stack, "finance_admin", region_code="330100")) as city:
        added = _post(city, "/console/regions", "/console/regions", code=code, name="西湖区")
        again = _post(city, "/console/regions", "/console/regions", code=code, name="西湖区")
        above = _post(city, "/console/regions", "/console/regions", code="330200", name="宁波市")
        renamed = _post(
            city, "/console/regions", f"/console/regions/{code}/rename", name="西湖区（测试）"
        )
        listed = city.get("/console/regions").text
    assert added.status_code == 303
    assert again.status_code == 409
    assert above.status_code == 404
    assert renamed.status_code == 303
    assert "西湖区（测试）" in listed
    assert "330200" not in listed


def test_out_of_scope_units_and_items_answer_404(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    other_id, _ = new_unit(stack, stock_size=1)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        own = client.get(f"/console/units/{unit_id}")
        other = client.get(f"/console/units/{other_id}")
        listed = client.get("/console/units").text
        granted_item = client.get("/console/catalogue/GA0101")
        other_item = client.get("/console/catalogue/JY0101")
        forged_site = client.post(
            f"/console/units/{other_id}/sites",
            data={
                "csrf": csrf_of(own.text),
                "code": "XX-1",
                "name": "越权网点",
                "kind": "service_hall",
            },
        )
    assert own.status_code == 200
    assert other.status_code == 404
    assert f"/console/units/{other_id}" not in listed
    assert granted_item.status_code == 200
    assert other_item.status_code == 404
    assert forged_site.status_code == 403  # a unit admin does not edit units at all


def test_a_reviewer_reads_the_catalogue_but_cannot_edit_it(stack: Any, base_url: str) -> None:
    with logged_in(base_url, make_user(stack, "finance_reviewer")) as client:
        page = client.get("/console/catalogue")
        refused = client.post("/console/catalogue", data={"csrf": csrf_of(page.text)})
    assert page.status_code == 200
    assert "新增收费项目" not in page.text
    assert refused.status_code == 403
