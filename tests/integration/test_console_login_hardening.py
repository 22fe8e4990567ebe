"""Console login hardening: a TOTP code is accepted once (in every process), failed logins are
throttled per client address (429 + Retry-After), and that throttle keeps one address from
locking out every account."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import func, select

from publicpay.adapters.db.users import console_sessions, users
from publicpay.api.app import create_app
from publicpay.bootstrap import build
from publicpay.services.users.accounts import CODE_REUSED, Login, LoginRefused, log_in
from tests.integration.console_kit import audit_rows, csrf_of, make_user, submit_login
from tests.support.servers import serve

LIMIT = 3


def _user_row(stack: Any, username: str) -> Any:
    with stack.container.engines.read.connect() as conn:
        return conn.execute(select(users).where(users.c.username == username)).one()


def _sessions(stack: Any, user_id: int) -> int:
    stmt = select(func.count()).where(console_sessions.c.user_id == user_id)
    with stack.container.engines.read.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def test_a_totp_code_is_accepted_only_once(stack: Any, base_url: str) -> None:
    user = make_user(stack, "auditor")
    code = user.code()
    with httpx.Client(base_url=base_url, timeout=15) as client:
        first = submit_login(client, user.username, user.password, code)
    row = _user_row(stack, user.username)
    sessions = _sessions(stack, row.id)

    with httpx.Client(base_url=base_url, timeout=15) as client:
        again = submit_login(client, user.username, user.password, code)

    assert first.status_code == 303
    assert again.status_code == 401
    assert CODE_REUSED in again.text
    assert _sessions(stack, row.id) == sessions  # no session for the replayed code
    [failure] = audit_rows(stack, "console.login_failed", user.username)
    assert failure.detail["reason"] == "totp_reused"
    assert row.totp_last_step is not None


def test_the_next_code_is_accepted_after_one_was_used(stack: Any, base_url: str) -> None:
    user = make_user(stack, "auditor")
    now = stack.container.clock.now()
    with httpx.Client(base_url=base_url, timeout=15) as client:
        assert submit_login(client, user.username, user.password, user.code()).status_code == 303
    later = pyotp.TOTP(user.secret).at(now.timestamp() + 30)  # the next step (clock drift)

    with httpx.Client(base_url=base_url, timeout=15) as client:
        answer = submit_login(client, user.username, user.password, later)

    assert answer.status_code == 303


def test_a_code_used_through_one_process_is_refused_by_another(stack: Any, base_url: str) -> None:
    """The used time step lives in the database: a second container on the same database (as
    another server process would be) refuses the code."""
    user = make_user(stack, "auditor")
    code = user.code()
    with httpx.Client(base_url=base_url, timeout=15) as client:
        assert submit_login(client, user.username, user.password, code).status_code == 303
    other = build(stack.container.settings)
    try:
        with pytest.raises(LoginRefused, match="已使用过"):
            log_in(
                other.uow(),
                Login(user.username, user.password, code, "10.1.1.1"),
                clock=other.clock,
            )
    finally:
        other.close()


@pytest.fixture(scope="module")
def throttled(stack: Any) -> Iterator[str]:
    """The platform again, behind 127.0.0.1 as a trusted proxy (so each test speaks from its
    own forwarded address) and with a small per-address allowance."""
    c = stack.container
    settings = c.settings.model_copy(
        update={"trusted_proxies": ["127.0.0.1"], "login_failures_per_address": LIMIT}
    )
    with serve(create_app(dataclasses.replace(c, settings=settings))) as url:
        yield url


def _attempt(base: str, address: str, username: str, password: str, code: str) -> httpx.Response:
    headers = {"X-Forwarded-For": address}
    with httpx.Client(base_url=base, headers=headers, timeout=15) as client:
        form = client.get("/console/login")
        fields = {"username": username, "password": password, "code": code}
        return client.post("/console/login", data=fields | {"csrf": csrf_of(form.text)})


def _address() -> str:
    return f"198.51.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def test_failed_logins_from_one_address_are_throttled(stack: Any, throttled: str) -> None:
    user = make_user(stack, "auditor")
    address = _address()
    failures = [
        _attempt(throttled, address, user.username, "wrong-password!", user.code())
        for _ in range(LIMIT)
    ]
    before = _user_row(stack, user.username)

    # even the right password and code are refused from this address now
    answer = _attempt(throttled, address, user.username, user.password, user.code())

    assert [f.status_code for f in failures] == [401] * LIMIT
    assert answer.status_code == 429
    assert 0 < int(answer.headers["retry-after"]) <= 15 * 60
    assert "登录失败次数过多" in answer.text
    after = _user_row(stack, user.username)
    assert after.failed_attempts == before.failed_attempts  # the refusal counted nothing more
    assert _sessions(stack, after.id) == 0
    [throttle] = audit_rows(stack, "console.login_throttled", user.username)
    assert throttle.detail["from"] == address
    assert audit_rows(stack, "console.login_failed", user.username)[-1].detail["from"] == address


def test_a_throttled_address_does_not_hold_back_other_addresses(stack: Any, throttled: str) -> None:
    user = make_user(stack, "auditor")
    attacker = _address()
    for _ in range(LIMIT):
        _attempt(throttled, attacker, "t_guess_" + secrets.token_hex(3), "guess!", "000000")

    answer = _attempt(throttled, _address(), user.username, user.password, user.code())

    assert _attempt(throttled, attacker, user.username, "x", "000000").status_code == 429
    assert answer.status_code == 303


def test_a_locked_out_attacker_cannot_lock_everyone(stack: Any, throttled: str) -> None:
    """Five failures lock an account; an address gets three before it is throttled, so its
    attempts on other accounts never reach them."""
    victims = [make_user(stack, "auditor") for _ in range(3)]
    attacker = _address()

    answers = [
        _attempt(throttled, attacker, v.username, "wrong-password!", "000000").status_code
        for v in victims
        for _ in range(2)
    ]

    assert answers == [401, 401, 401, 429, 429, 429]
    assert _user_row(stack, victims[2].username).failed_attempts == 0
    assert _user_row(stack, victims[2].username).locked_until is None
    owner = victims[2]
    assert (
        _attempt(throttled, _address(), owner.username, owner.password, owner.code()).status_code
        == 303
    )
