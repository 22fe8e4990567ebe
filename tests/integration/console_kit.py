"""Helpers for the console tests: make users, log in through the login form, read CSRF tokens."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
from sqlalchemy import select

from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.units import regions
from publicpay.services.users.accounts import NewUser, create_user

PASSWORD = "console-test-" + secrets.token_hex(6)  # made at runtime, never a stored secret


@dataclass(frozen=True)
class ConsoleUser:
    username: str
    password: str
    secret: str

    def code(self) -> str:
        return str(pyotp.TOTP(self.secret).now())


def make_user(
    stack: Any, role: str, *, region_code: str | None = None, unit_id: int | None = None
) -> ConsoleUser:
    if region_code is None and unit_id is None:
        region_code = stack.container.settings.region_code
    username = f"t_{role[:8]}_{secrets.token_hex(4)}"
    c = stack.container
    new = NewUser(username, PASSWORD, role, region_code=region_code, unit_id=unit_id)
    created = create_user(c.uow(), new, actor="test", clock=c.clock)
    return ConsoleUser(username, PASSWORD, created.totp_secret)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def submit_login(
    client: httpx.Client, username: str, password: str, code: str, *, csrf: str | None = None
) -> httpx.Response:
    form = client.get("/console/login")
    assert form.status_code == 200
    token = csrf_of(form.text) if csrf is None else csrf
    fields = {"username": username, "password": password, "code": code, "csrf": token}
    return client.post("/console/login", data=fields)


@contextmanager
def logged_in(base_url: str, user: ConsoleUser) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=15) as client:
        response = submit_login(client, user.username, user.password, user.code())
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/console"
        yield client


def ensure_region(stack: Any, code: str, name: str, parent: str) -> None:
    with stack.container.uow() as uow:
        found = uow.connection.execute(select(regions.c.code).where(regions.c.code == code))
        if found.first() is None:
            uow.units.add_region(code, name, parent)
            uow.commit()


def audit_rows(stack: Any, action: str, target: str) -> list[Any]:
    stmt = select(audit_log).where(audit_log.c.action == action, audit_log.c.target == target)
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt.order_by(audit_log.c.id)))
