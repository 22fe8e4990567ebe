"""The 用户与角色 console screen and 修改密码 (issue 10): a finance admin creates an account
(one-time password and TOTP enrolment shown once), its user must change the password at the
first login; disable ends sessions at once; reset gives new credentials; a unit admin creates
only its unit's cashiers; nobody raises their own role or touches another scope's accounts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pyotp

from tests.integration.console_kit import (
    ConsoleUser,
    audit_rows,
    csrf_of,
    logged_in,
    make_user,
    submit_login,
)
from tests.integration.receipt_kit import new_unit

RUN = secrets.token_hex(3)  # usernames no other test module uses (the stack is shared)


def _issued(html: str) -> ConsoleUser:
    name = re.search(r'id="issued-username">([^<]+)<', html)
    password = re.search(r'id="issued-password">([^<]+)<', html)
    secret = re.search(r'id="issued-totp">([^<]+)<', html)
    assert name, html
    assert password
    assert secret
    return ConsoleUser(name.group(1), password.group(1), secret.group(1))


def _create(client: httpx.Client, **fields: Any) -> httpx.Response:
    page = client.get("/console/users")
    return client.post("/console/users", data={"csrf": csrf_of(page.text), **fields})


def _row_id(client: httpx.Client, username: str) -> str:
    page = client.get("/console/users")
    found = re.search(rf'data-username="{username}">.*?/console/users/(\d+)/', page.text, re.S)
    assert found, f"no actions for {username}"
    return found.group(1)


@contextmanager
def _first_login(base_url: str, user: ConsoleUser) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=15) as client:
        answer = submit_login(client, user.username, user.password, user.code())
        assert answer.status_code == 303, answer.text
        yield client


def test_a_new_user_gets_a_one_time_password_and_must_change_it_at_first_login(
    stack: Any, base_url: str
) -> None:
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        created = _create(
            admin,
            username=f"new_reviewer{RUN}",
            role="finance_reviewer",
            region_code=stack.container.settings.region_code,
        )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    assert "<svg" in created.text  # the enrolment QR code
    user = _issued(created.text)
    with _first_login(base_url, user) as client:
        home = client.get("/console")
        assert home.status_code == 303
        assert home.headers["location"] == "/console/password"
        form = client.get("/console/password")
        assert "一次性密码" in form.text
        new_password = "my-own-password-123"
        changed = client.post(
            "/console/password",
            data={
                "csrf": csrf_of(form.text),
                "current": user.password,
                "password": new_password,
                "repeat": new_password,
            },
        )
        assert changed.status_code == 303
        assert client.get("/console").status_code == 200
    assert audit_rows(stack, "console.password_changed", f"new_reviewer{RUN}")


def test_a_wrong_current_password_or_a_mismatch_changes_nothing(stack: Any, base_url: str) -> None:
    user = make_user(stack, "auditor")
    with logged_in(base_url, user) as client:
        form = client.get("/console/password")
        token = csrf_of(form.text)
        wrong = client.post(
            "/console/password",
            data={
                "csrf": token,
                "current": "not-my-password",
                "password": "another-pass-1",
                "repeat": "another-pass-1",
            },
        )
        mismatch = client.post(
            "/console/password",
            data={
                "csrf": token,
                "current": user.password,
                "password": "another-pass-1",
                "repeat": "another-pass-2",
            },
        )
        short = client.post(
            "/console/password",
            data={
                "csrf": token,
                "current": user.password,
                "password": "short",
                "repeat": "short",
            },
        )
    assert (wrong.status_code, mismatch.status_code, short.status_code) == (422, 422, 422)
    assert "当前密码不正确" in wrong.text
    assert "不一致" in mismatch.text
    assert "至少10位" in short.text
    assert not audit_rows(stack, "console.password_changed", user.username)
    assert audit_rows(stack, "console.password_change_refused", user.username)


def test_disabling_a_user_ends_its_session_and_its_logins(stack: Any, base_url: str) -> None:
    victim = make_user(stack, "finance_reviewer")
    with logged_in(base_url, victim) as victim_client:
        assert victim_client.get("/console").status_code == 200
        with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
            user_id = _row_id(admin, victim.username)
            page = admin.get("/console/users")
            done = admin.post(
                f"/console/users/{user_id}/disable", data={"csrf": csrf_of(page.text)}
            )
        assert done.status_code == 303
        assert victim_client.get("/console").status_code == 303  # sent to the login page
    with httpx.Client(base_url=base_url, timeout=15) as client:
        refused = submit_login(client, victim.username, victim.password, victim.code())
    assert refused.status_code == 401
    rows = audit_rows(stack, "console.user_disabled", victim.username)
    assert rows[-1].detail["before"] == {"active": True}
    assert rows[-1].detail["after"] == {"active": False}


def test_a_reset_gives_new_credentials_and_the_old_ones_stop_working(
    stack: Any, base_url: str
) -> None:
    victim = make_user(stack, "auditor")
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        user_id = _row_id(admin, victim.username)
        page = admin.get("/console/users")
        reset = admin.post(f"/console/users/{user_id}/reset", data={"csrf": csrf_of(page.text)})
    fresh = _issued(reset.text)
    assert fresh.secret != victim.secret
    with httpx.Client(base_url=base_url, timeout=15) as client:
        old = submit_login(client, victim.username, victim.password, victim.code())
    assert old.status_code == 401
    with _first_login(base_url, fresh) as client:
        assert client.get("/console").headers["location"] == "/console/password"


def test_a_unit_admin_creates_cashiers_of_its_unit_only(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    other_unit, _ = new_unit(stack, stock_size=1)
    with logged_in(base_url, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        cashier = _create(
            client, username=f"unit_cashier1{RUN}", role="cashier", unit_id=str(unit_id)
        )
        finance = _create(
            client,
            username=f"raised_fin{RUN}",
            role="finance_admin",
            region_code=stack.container.settings.region_code,
        )
        admin = _create(client, username=f"raised_ua{RUN}", role="unit_admin", unit_id=str(unit_id))
        elsewhere = _create(
            client, username=f"other_cash{RUN}", role="cashier", unit_id=str(other_unit)
        )
        listed = client.get("/console/users").text
    assert cashier.status_code == 200
    assert (finance.status_code, admin.status_code, elsewhere.status_code) == (403, 403, 403)
    assert "不能授予" in finance.text
    assert f"unit_cashier1{RUN}" in listed
    assert f"raised_fin{RUN}" not in listed
    assert not audit_rows(stack, "console.user_created", f"raised_fin{RUN}")


def test_nobody_administers_their_own_account_or_another_scopes(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    other_unit, _ = new_unit(stack, stock_size=1)
    me = make_user(stack, "unit_admin", unit_id=unit_id)
    stranger = make_user(stack, "cashier", unit_id=other_unit)
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        stranger_id = _row_id(admin, stranger.username)
        listed = admin.get("/console/users").text
        mine = re.search(rf'data-username="{me.username}">', listed)
        assert mine
    with logged_in(base_url, me) as client:
        page = client.get("/console/users")
        token = csrf_of(page.text)
        other = client.post(f"/console/users/{stranger_id}/disable", data={"csrf": token})
        ids = re.findall(r"/console/users/(\d+)/", page.text)
        assert stranger.username not in page.text
        assert me.username in page.text
        assert not ids  # its own row has no actions
    assert other.status_code == 404


def test_a_cashier_and_an_auditor_have_no_users_screen(stack: Any, base_url: str) -> None:
    unit_id, _ = new_unit(stack, stock_size=1)
    for user in (make_user(stack, "cashier", unit_id=unit_id), make_user(stack, "auditor")):
        with logged_in(base_url, user) as client:
            assert client.get("/console/users").status_code == 403


def test_a_forged_csrf_token_creates_nobody(stack: Any, base_url: str) -> None:
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        forged = admin.post(
            "/console/users",
            data={
                "csrf": "forged",
                "username": f"forged_user{RUN}",
                "role": "auditor",
                "region_code": stack.container.settings.region_code,
            },
        )
    assert forged.status_code == 403
    assert "安全校验失败" in forged.text
    assert not audit_rows(stack, "console.user_created", f"forged_user{RUN}")


def test_the_enrolment_secret_gives_working_codes(stack: Any, base_url: str) -> None:
    with logged_in(base_url, make_user(stack, "finance_admin")) as admin:
        created = _create(
            admin,
            username=f"qr_user{RUN}",
            role="auditor",
            region_code=stack.container.settings.region_code,
        )
    user = _issued(created.text)
    uri = re.search(r'id="issued-uri">([^<]+)<', created.text)
    assert uri
    parsed = pyotp.parse_uri(uri.group(1).replace("&amp;", "&"))
    assert parsed.now() == pyotp.TOTP(user.secret).now()
