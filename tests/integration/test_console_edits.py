"""Editing existing records in the console (issue 10): a unit's name, contact, region and state;
its sites and windows renamed, closed and reopened; a fee item's attributes and split; a user's
role and unit. Every edit is audited with before and after; bad input changes nothing and says
why in Chinese; an account can never change (raise) its own role; out-of-scope records answer
404. The same services answer the API (test_admin_api.py)."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select

from publicpay.adapters.db.users import users
from publicpay.domain.catalogue import (
    BudgetLevel,
    Category,
    Destination,
    FeeItem,
    Standard,
    StandardKind,
    single_level,
)
from publicpay.domain.units import SiteKind
from tests.integration.console_kit import audit_rows, csrf_of, logged_in, make_user
from tests.integration.receipt_kit import new_unit
from tests.integration.test_console_scope import _other_unit


def _post(client: httpx.Client, page: str, action: str, **fields: Any) -> httpx.Response:
    form = client.get(page)
    assert form.status_code == 200, form.text[:300]
    return client.post(action, data={"csrf": csrf_of(form.text), **fields})


def _site_with_window(stack: Any, unit_id: int) -> tuple[int, int, str]:
    """A site of the unit with window 01: (site id, window id, site code)."""
    c = stack.container
    code = f"E-{secrets.token_hex(3)}"
    with c.uow() as uow:
        unit = uow.units.get(unit_id)
        assert unit is not None
        site_id = uow.units.add_site(
            code, "办事大厅", SiteKind.SERVICE_HALL, unit.region_code, unit_id, c.clock.now()
        )
        window_id = uow.units.add_window(site_id, "01", "综合")
        uow.commit()
    return site_id, window_id, code


def _role_of(stack: Any, username: str) -> tuple[str, str | None, int | None]:
    with stack.container.engines.read.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).one()
    return row.role, row.region_code, row.unit_id


def test_a_finance_admin_edits_a_unit_and_the_audit_keeps_before_and_after(
    stack: Any, base_url: str
) -> None:
    unit_id, unit_api = new_unit(stack, stock_size=1)
    page = f"/console/units/{unit_id}/edit"
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        saved = _post(
            admin,
            page,
            page,
            name="改名后的测试单位",
            contact="王五 0571-12345678",
            region_code="330105",
        )
        shown = admin.get(f"/console/units/{unit_id}")
        empty = _post(admin, page, page, name=" ", contact="", region_code="330105")
        foreign = _post(admin, page, page, name="改名后的测试单位", region_code="330110")
        disabled = _post(admin, page, f"/console/units/{unit_id}/disable")
        refused = unit_api.get("/api/v1/events?after=0")
        enabled = _post(admin, page, f"/console/units/{unit_id}/enable")
    assert saved.status_code == 303, saved.text[:300]
    assert "改名后的测试单位" in shown.text
    assert "王五 0571-12345678" in shown.text
    assert empty.status_code == 422
    assert "单位名称应为2-200个字" in empty.text
    assert foreign.status_code == 422
    assert "管辖范围" in foreign.text
    assert disabled.status_code == 303
    assert refused.status_code == 401
    assert enabled.status_code == 303
    with stack.container.read_uow() as uow:
        unit = uow.units.get(unit_id)
    assert unit is not None
    assert (unit.name, unit.region_code, unit.active) == ("改名后的测试单位", "330105", True)
    (row,) = audit_rows(stack, "unit.updated", unit.code)
    assert row.detail["after"] == {"name": "改名后的测试单位", "contact": "王五 0571-12345678"}
    assert row.detail["before"]["contact"] == ""
    assert row.actor.startswith("user:")
    assert len(audit_rows(stack, "unit.disabled", unit.code)) == 1


def test_sites_and_windows_are_renamed_closed_and_reopened_from_the_units_page(
    stack: Any, base_url: str
) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    site_id, window_id, site_code = _site_with_window(stack, unit_id)
    page = f"/console/units/{unit_id}"
    window = f"/console/units/{unit_id}/windows/{window_id}"
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        renamed = _post(admin, page, f"{window}/edit", name="综合受理")
        closed = _post(admin, page, f"{window}/close")
        after_close = admin.get(page)
        reopened = _post(admin, page, f"{window}/reopen")
        site_renamed = _post(
            admin,
            page,
            f"/console/units/{unit_id}/sites/{site_id}/edit",
            name="新政务大厅",
            address="某路2号",
        )
        site_closed = _post(admin, page, f"/console/units/{unit_id}/sites/{site_id}/close")
        too_long = _post(admin, page, f"{window}/edit", name="很" * 101)
    assert [r.status_code for r in (renamed, closed, reopened, site_renamed, site_closed)] == [
        303
    ] * 5
    assert "已关闭" in after_close.text
    assert too_long.status_code == 422
    with stack.container.read_uow() as uow:
        stored = uow.units.window(window_id)
        site = uow.units.site(site_id)
    assert stored is not None
    assert site is not None
    assert (stored.name, stored.active) == ("综合受理", True)
    assert (site.name, site.address, site.active) == ("新政务大厅", "某路2号", False)
    changes = [r.detail["after"] for r in audit_rows(stack, "window.updated", f"{site_code}/01")]
    assert changes == [{"name": "综合受理"}, {"active": False}, {"active": True}]


def test_another_units_site_or_window_answers_404_and_changes_nothing(
    stack: Any, base_url: str
) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    other_id, _, _, _ = _other_unit(stack)
    other_site, other_window, other_code = _site_with_window(stack, other_id)
    _, own_window, _ = _site_with_window(stack, unit_id)
    page = f"/console/units/{unit_id}"
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        token = csrf_of(admin.get(page).text)
        answers = [
            admin.post(
                f"/console/units/{unit_id}/windows/{other_window}/close", data={"csrf": token}
            ),
            admin.post(
                f"/console/units/{unit_id}/sites/{other_site}/edit",
                data={"csrf": token, "name": "越权"},
            ),
            admin.post(
                f"/console/units/{other_id}/windows/{other_window}/close", data={"csrf": token}
            ),
            admin.post(f"/console/units/{other_id}/edit", data={"csrf": token, "name": "越权改名"}),
            admin.post(f"/console/units/{other_id}/disable", data={"csrf": token}),
        ]
        forged = admin.post(
            f"/console/units/{unit_id}/windows/{own_window}/close", data={"csrf": "x"}
        )
    assert [a.status_code for a in answers] == [404] * 5
    assert forged.status_code == 403
    assert not audit_rows(stack, "window.updated", f"{other_code}/01")
    with stack.container.read_uow() as uow:
        window = uow.units.window(own_window)
    assert window is not None
    assert window.active


def _new_item(stack: Any) -> str:
    code = f"E{secrets.randbelow(10**6):06d}"
    item = FeeItem(
        code=code,
        name="控制台编辑测试收费",
        category=Category.ADMIN_FEE,
        budget_subject="1030401",
        destination=Destination.TREASURY,
        unit_of_measure="次",
        split=single_level(BudgetLevel.COUNTY),
        standards=(Standard(StandardKind.FIXED, date(2020, 1, 1), amount_fen=800, basis="测试"),),
        legal_basis="测试依据",
    )
    with stack.container.uow() as uow:
        uow.catalogue.add_item(item)
        uow.commit()
    return code


def _item_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "控制台编辑测试收费",
        "category": "admin_fee",
        "budget_subject": "1030401",
        "destination": "treasury",
        "unit_of_measure": "次",
        "legal_basis": "测试依据",
        "w_county": "1",
        **overrides,
    }


def test_a_fee_items_split_is_edited_and_a_split_that_does_not_add_up_is_refused(
    stack: Any, base_url: str
) -> None:
    code = _new_item(stack)
    page = f"/console/catalogue/{code}/edit"
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        form = admin.get(page)
        fixed_only = _post(admin, page, page, **_item_form(w_county="", f_central="1.00"))
        twice_nothing = _post(admin, page, page, **_item_form(w_county="0"))
        bad_subject = _post(admin, page, page, **_item_form(budget_subject="12a"))
        saved = _post(
            admin,
            page,
            page,
            **_item_form(
                name="改名收费",
                w_city="2",
                w_county="8",
                f_central="0.50",
                destination="special_account",
            ),
        )
        shown = admin.get(f"/console/catalogue/{code}")
    assert 'name="w_county"' in form.text
    assert fixed_only.status_code == 422
    assert "至少需要一个按比例分成的级次" in fixed_only.text
    assert twice_nothing.status_code == 422
    assert bad_subject.status_code == 422
    assert "预算科目" in bad_subject.text
    assert saved.status_code == 303, saved.text[:500]
    assert "改名收费" in shown.text
    with stack.container.read_uow() as uow:
        item = uow.catalogue.stored_items()[code]
    assert [(s.level.value, s.weight, s.fixed_fen) for s in item.split.shares] == [
        ("central", 0, 50),
        ("city", 2, None),
        ("county", 8, None),
    ]
    assert item.standards[0].amount_fen == 800  # prices change only by a new standard
    (row,) = audit_rows(stack, "catalogue.item_updated", code)
    assert row.detail["before"]["split"] == [["county", 1, None]]
    assert row.detail["after"]["destination"] == "special_account"


def test_the_catalogue_edit_is_refused_to_roles_that_do_not_keep_the_catalogue(
    stack: Any, base_url: str
) -> None:
    code = _new_item(stack)
    with logged_in(base_url, make_user(stack, "finance_reviewer")) as reviewer:
        page = reviewer.get(f"/console/catalogue/{code}/edit")
        token = csrf_of(reviewer.get("/console/catalogue").text)
        posted = reviewer.post(
            f"/console/catalogue/{code}/edit", data={"csrf": token, **_item_form(name="越权")}
        )
    assert page.status_code == 403
    assert posted.status_code == 403
    assert not audit_rows(stack, "catalogue.item_updated", code)


def test_a_finance_admin_changes_a_users_role_and_unit(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    cashier = make_user(stack, "cashier", unit_id=unit_id)
    with stack.container.engines.read.connect() as conn:
        user_id = conn.execute(
            select(users.c.id).where(users.c.username == cashier.username)
        ).scalar_one()
    page = f"/console/users/{user_id}/edit"
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        form = admin.get(page)
        promoted = _post(admin, page, page, role="unit_admin", unit_id=str(unit_id))
        to_region = _post(admin, page, page, role="auditor", region_code="330105")
    assert form.status_code == 200
    assert promoted.status_code == 303, promoted.text[:300]
    assert to_region.status_code == 303
    assert _role_of(stack, cashier.username) == ("auditor", "330105", None)
    changes = audit_rows(stack, "console.user_role_changed", cashier.username)
    assert [c.detail["after"]["role"] for c in changes] == ["unit_admin", "auditor"]
    assert changes[0].detail["before"] == {"role": "cashier", "region": None, "unit_id": unit_id}


def test_a_user_can_never_raise_their_own_role(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    unit_admin = make_user(stack, "unit_admin", unit_id=unit_id)
    cashier = make_user(stack, "cashier", unit_id=unit_id)
    with stack.container.engines.read.connect() as conn:
        ids = dict(
            conn.execute(
                select(users.c.username, users.c.id).where(
                    users.c.username.in_([unit_admin.username, cashier.username])
                )
            ).all()
        )
    own = f"/console/users/{ids[unit_admin.username]}/edit"
    with logged_in(base_url, unit_admin) as client:
        token = csrf_of(client.get("/console/users").text)
        page = client.get(own)
        raised = client.post(
            own, data={"csrf": token, "role": "finance_admin", "region_code": "330105"}
        )
        other = f"/console/users/{ids[cashier.username]}/edit"
        beyond = client.post(
            other, data={"csrf": token, "role": "unit_admin", "unit_id": str(unit_id)}
        )
    assert page.status_code == 403
    assert raised.status_code == 403
    assert "不能修改自己的角色" in raised.text
    assert beyond.status_code == 403  # a unit admin grants cashiers only
    assert _role_of(stack, unit_admin.username) == ("unit_admin", None, unit_id)
    assert _role_of(stack, cashier.username) == ("cashier", None, unit_id)
    assert len(audit_rows(stack, "console.role_change_refused", unit_admin.username)) == 1
    assert not audit_rows(stack, "console.user_role_changed", unit_admin.username)
