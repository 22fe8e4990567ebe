"""The finance console over HTTP: login with password and TOTP, lockout, sessions, CSRF, receipt
stock allocation, key rotation and the write-off report, each checked for role and data scope."""

from __future__ import annotations

import io
import re
import secrets
from datetime import timedelta
from typing import Any

import httpx
import pyotp
from openpyxl import load_workbook
from sqlalchemy import select, update

from publicpay.adapters.db.users import console_sessions, users
from publicpay.demo.seed import credit_code
from publicpay.domain.time import business_date
from publicpay.services.receipts.stock import write_off
from tests.integration.console_kit import (
    audit_rows,
    csrf_of,
    ensure_region,
    logged_in,
    make_user,
    submit_login,
)
from tests.integration.receipt_kit import drain, new_unit, pay, register, rows


def _client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=15)


def _stock_of(stack: Any, unit_id: int) -> list[Any]:
    with stack.container.read_uow() as uow:
        return uow.receipts.stocks(unit_id)


def _allocate(client: httpx.Client, **fields: Any) -> httpx.Response:
    page = client.get("/console/stock")
    assert page.status_code == 200, page.text
    data = {"csrf": csrf_of(page.text), "issuing_point": "", **fields}
    return client.post("/console/stock", data={k: str(v) for k, v in data.items()})


def _unit_elsewhere(stack: Any) -> int:
    """A unit of 西湖区 (330106): outside the district bureau's scope, inside the city's."""
    ensure_region(stack, "330106", "西湖区", "330100")
    suffix = f"{secrets.randbelow(10**6):06d}"
    c = stack.container
    with c.uow() as uow:
        unit_id = uow.units.add(
            f"338{suffix}", f"西湖区测试单位{suffix}", "330106",
            credit_code("11330106", f"{suffix}00"[:8]), c.clock.now(),
        )  # fmt: skip
        uow.commit()
    return unit_id


def test_login_needs_the_password_and_a_current_totp_code(stack: Any, base_url: str) -> None:
    user = make_user(stack, "finance_admin")
    with _client(base_url) as client:
        wrong_code = submit_login(client, user.username, user.password, "000000")
        wrong_password = submit_login(client, user.username, "not-the-password", user.code())
        old_code = pyotp.TOTP(user.secret).at(stack.container.clock.now() - timedelta(minutes=5))
        stale = submit_login(client, user.username, user.password, old_code)
        unknown = submit_login(client, "t_nobody_here", user.password, user.code())
        for refused in (wrong_code, wrong_password, stale, unknown):
            assert refused.status_code == 401
            assert "用户名、密码或动态验证码错误" in refused.text
        assert client.get("/console").status_code == 303
        ok = submit_login(client, user.username, user.password, user.code())
        assert ok.status_code == 303
        home = client.get("/console")
    assert home.status_code == 200
    assert f"{user.username} · 财政管理员" in home.text
    assert "票据核销" in home.text
    assert len(audit_rows(stack, "console.login_failed", user.username)) == 3
    [success] = audit_rows(stack, "console.login_succeeded", user.username)
    assert success.detail["from"] == "127.0.0.1"


def test_five_failures_lock_the_account_for_fifteen_minutes(stack: Any, base_url: str) -> None:
    user = make_user(stack, "finance_reviewer")
    with _client(base_url) as client:
        answers = [
            submit_login(client, user.username, "wrong-password!", user.code()) for _ in range(5)
        ]
        locked = submit_login(client, user.username, user.password, user.code())
        unknown = submit_login(client, "t_nobody_at_all", user.password, user.code())
    # the lockout is not told: locked, unknown and wrong all answer alike
    assert [a.status_code for a in answers] == [401] * 5
    assert locked.status_code == unknown.status_code == 401
    assert _error_of(locked.text) == _error_of(unknown.text) == _error_of(answers[0].text)
    assert "锁定至" not in locked.text
    assert len(audit_rows(stack, "console.account_locked", user.username)) == 1
    [failure] = audit_rows(stack, "console.login_failed", user.username)[-1:]
    assert failure.detail["reason"] == "locked"
    with stack.container.engines.write.begin() as conn:  # fifteen minutes pass
        past = stack.container.clock.now() - timedelta(seconds=1)
        conn.execute(
            update(users).where(users.c.username == user.username).values(locked_until=past)
        )
    with _client(base_url) as client:
        assert submit_login(client, user.username, user.password, user.code()).status_code == 303


def _error_of(html: str) -> str:
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', html, re.S)
    assert found, "no error message on the page"
    return found.group(1).strip()


def test_a_session_ends_after_thirty_idle_minutes(stack: Any, base_url: str) -> None:
    user = make_user(stack, "finance_reviewer")
    with logged_in(base_url, user) as client:
        assert client.get("/console").status_code == 200
        idle = stack.container.clock.now() - timedelta(minutes=31)
        with stack.container.engines.write.begin() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.username == user.username))
            conn.execute(
                update(console_sessions)
                .where(console_sessions.c.user_id == user_id.scalar_one())
                .values(last_seen_at=idle)
            )
        expired = client.get("/console/write-off")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/console/login?next=/console/write-off"


def test_logout_revokes_the_session_at_once(stack: Any, base_url: str) -> None:
    user = make_user(stack, "auditor")
    with logged_in(base_url, user) as client:
        cookie = client.cookies["pp_console"]
        home = client.get("/console")
        out = client.post("/console/logout", data={"csrf": csrf_of(home.text)})
    assert out.status_code == 303
    with _client(base_url) as replay:
        replay.cookies.set("pp_console", cookie, path="/console")
        assert replay.get("/console").status_code == 303
    assert len(audit_rows(stack, "console.logout", user.username)) == 1


def test_a_post_without_the_csrf_token_is_refused(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    [stock] = _stock_of(stack, unit_id)
    user = make_user(stack, "finance_admin")
    with logged_in(base_url, user) as client:
        fields = {"code": stock.code, "start": stock.end + 1, "count": 5, "unit_id": unit_id}
        forged = client.post("/console/stock", data={k: str(v) for k, v in fields.items()})
        bad_token = client.post("/console/stock", data={**fields, "csrf": "x" * 64})
        logout = client.post("/console/logout", data={})
        still_in = client.get("/console")
    assert forged.status_code == 403
    assert bad_token.status_code == 403
    assert "安全校验失败" in forged.text
    assert logout.status_code == 403
    assert still_in.status_code == 200
    assert len(_stock_of(stack, unit_id)) == 1
    with _client(base_url) as client:
        no_form = submit_login(client, user.username, user.password, user.code(), csrf="forged")
    assert no_form.status_code == 403


def test_a_finance_admin_allocates_a_range_that_issuing_then_uses(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    unit_id, unit_api = new_unit(stack, stock_size=1)
    first = register(unit_api, payer)
    pay(stack, first)
    drain(stack)
    [stock] = _stock_of(stack, unit_id)
    assert stock.unused == 0
    user = make_user(stack, "finance_admin")
    with logged_in(base_url, user) as client:
        allocated = _allocate(
            client, code=stock.code, start=stock.end + 1, count=5, unit_id=unit_id
        )
        assert allocated.status_code == 303
        listed = client.get(allocated.headers["location"])
    assert "号段已分配" in listed.text
    assert f"{stock.end + 1:010d}–{stock.end + 5:010d}" in listed.text
    second = register(unit_api, payer)
    pay(stack, second)
    drain(stack)
    [issued] = rows(stack, second)
    assert int(issued.number) == stock.end + 1
    [audit] = audit_rows(stack, "receipt.stock_allocated", stock.code)[-1:]
    assert audit.actor == f"user:{user.username}"
    assert audit.detail["unit_id"] == unit_id


def test_an_overlapping_range_is_refused(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=10)
    [stock] = _stock_of(stack, unit_id)
    with logged_in(base_url, make_user(stack, "finance_admin")) as client:
        refused = _allocate(
            client, code=stock.code, start=stock.start + 5, count=10, unit_id=unit_id
        )
    assert refused.status_code == 409
    assert "重叠" in refused.text
    assert len(_stock_of(stack, unit_id)) == 1


def test_units_outside_the_region_are_out_of_reach(stack: Any, base_url: str) -> None:
    elsewhere = _unit_elsewhere(stack)
    with logged_in(base_url, make_user(stack, "finance_admin")) as district:
        allocate = _allocate(
            district, code="33010126", start=999_000_000, count=5, unit_id=elsewhere
        )
        report = district.get(f"/console/write-off?unit_id={elsewhere}")
    assert allocate.status_code == 403
    assert "不在您的管辖范围内" in allocate.text
    assert report.status_code == 404
    assert _stock_of(stack, elsewhere) == []
    city_user = make_user(stack, "finance_reviewer", region_code="330100")
    with logged_in(base_url, city_user) as city:
        assert city.get(f"/console/write-off?unit_id={elsewhere}").status_code == 200
        assert (
            city.post("/console/stock", data={}).status_code == 403
        )  # a reviewer allocates nothing


def test_a_unit_admin_sees_only_its_own_units_write_off(stack: Any, base_url: str) -> None:
    own, _ = new_unit(stack, stock_size=5)
    other, _ = new_unit(stack, stock_size=5)
    user = make_user(stack, "unit_admin", unit_id=own)
    with logged_in(base_url, user) as client:
        mine = client.get(f"/console/write-off?unit_id={own}")
        theirs = client.get(f"/console/write-off?unit_id={other}")
        theirs_xlsx = client.get(f"/console/write-off.xlsx?unit_id={other}")
        keys = client.get("/console/keys")
    assert mine.status_code == 200
    assert theirs.status_code == 404
    assert theirs_xlsx.status_code == 404
    assert keys.status_code == 403
    assert f'<option value="{other}"' not in mine.text


def test_a_cashier_opens_neither_screen(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=5)
    with logged_in(base_url, make_user(stack, "cashier", unit_id=unit_id)) as client:
        assert client.get("/console/stock").status_code == 403
        assert client.get(f"/console/write-off?unit_id={unit_id}").status_code == 403


def test_the_write_off_report_matches_the_receipts_and_its_excel_opens(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    unit_id, unit_api = new_unit(stack, stock_size=10)
    codes = [register(unit_api, payer) for _ in range(2)]
    for code in codes:
        pay(stack, code)
    drain(stack)
    numbers = [rows(stack, code)[0].number for code in codes]
    today = business_date(stack.container.clock.now())
    report = write_off(stack.container.read_uow(), unit_id, today, today)
    query = f"unit_id={unit_id}&date_from={today}&date_to={today}"
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        page = client.get(f"/console/write-off?{query}")
        xlsx = client.get(f"/console/write-off.xlsx?{query}")
    assert page.status_code == 200
    assert report.issued_count == 2
    assert report.balanced
    assert '<dd id="issued-count">2 张</dd>' in page.text
    assert '<dd id="unused">8 个</dd>' in page.text
    assert "票款一致检查：平衡" in page.text
    assert all(number in page.text for number in numbers)
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["核销汇总", "号段", "票据明细"]
    summary = {row[0]: row[1] for row in book["核销汇总"].iter_rows(values_only=True)}
    assert summary["开具票据（张）"] == 2
    assert summary["开具金额（元）"] == report.issued_fen / 100
    assert summary["核销结论"] == "平衡"
    listed = [row[1] for row in book["票据明细"].iter_rows(min_row=2, values_only=True)]
    assert listed == numbers


def test_key_rotation_keeps_the_old_public_key_for_verification(
    stack: Any, base_url: str, payer: dict[str, str]
) -> None:
    unit_id, unit_api = new_unit(stack, stock_size=5)
    before = register(unit_api, payer)
    pay(stack, before)
    drain(stack)
    [old_receipt] = rows(stack, before)
    with stack.container.read_uow() as uow:
        unit_code = uow.units.get(unit_id).code  # type: ignore[union-attr]
    with logged_in(base_url, make_user(stack, "finance_admin")) as client:
        page = client.get("/console/keys")
        assert unit_code in page.text
        fields = {"csrf": csrf_of(page.text), "signer": "unit", "owner": unit_code}
        rotated = client.post("/console/keys/rotate", data=fields)
    assert rotated.status_code == 303
    after = register(unit_api, payer)
    pay(stack, after)
    drain(stack)
    [new_receipt] = rows(stack, after)
    assert new_receipt.unit_key_id != old_receipt.unit_key_id
    keys = {k["key_id"]: k for k in httpx.get(f"{base_url}/api/v1/receipts/keys").json()["keys"]}
    assert keys[old_receipt.unit_key_id]["active"] is False
    assert keys[new_receipt.unit_key_id]["active"] is True
    path = f"/api/v1/receipts/{old_receipt.code}/{old_receipt.number}/signatures"
    check = {"check_code": old_receipt.check_code}
    [unit_sig, _] = httpx.get(base_url + path, params=check).json()["signatures"]
    assert unit_sig["public_key_pem"] == keys[old_receipt.unit_key_id]["public_key_pem"]


def test_key_rotation_out_of_scope_is_refused(stack: Any, base_url: str) -> None:
    with logged_in(base_url, make_user(stack, "finance_admin", region_code="330106")) as client:
        page = client.get("/console/keys")
        fields = {"csrf": csrf_of(page.text), "signer": "finance", "owner": "330105"}
        refused = client.post("/console/keys/rotate", data=fields)
    assert refused.status_code == 404


def test_demo_users_log_in_with_what_demo_json_gives(stack: Any, base_url: str) -> None:
    described = {u["role"]: u for u in stack.info["users"]}
    assert set(described) == {
        "finance_admin", "finance_reviewer", "unit_admin", "cashier", "auditor",
    }  # fmt: skip
    reviewer = described["finance_reviewer"]
    with _client(base_url) as client:
        code = pyotp.TOTP(reviewer["totp_secret"]).now()
        response = submit_login(client, reviewer["username"], reviewer["password"], code)
        assert response.status_code == 303
        stock = client.get("/console/stock")
    assert stock.status_code == 200
    assert "分配新号段" not in stock.text  # a reviewer only looks
    with stack.container.engines.read.connect() as conn:
        stored = conn.execute(
            select(users.c.password_hash).where(users.c.username == reviewer["username"])
        )
        assert stored.scalar_one().startswith("$argon2id$")
