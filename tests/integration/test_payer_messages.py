"""Pushed links (N3) over HTTP: a registration and a payment each generate the payer's message,
the worker sends it through the configured sender (the demo's log), and the console lists it
with the phone masked — only to users whose scope holds the unit."""

from __future__ import annotations

from typing import Any

import httpx

from publicpay.adapters.db.queries.units import all_units
from publicpay.jobs.schedule import SCHEDULE
from publicpay.jobs.worker import run_once
from tests.conftest import payable_body
from tests.integration.console_kit import logged_in, make_user
from tests.integration.receipt_kit import pay
from tests.support.client import SignedClient
from tests.support.polling import wait_until

MESSAGES = tuple(t for t in SCHEDULE if t.name == "send_payer_messages")
PHONE = "13900001234"


def _register_with_phone(api: SignedClient, payer: dict[str, str]) -> str:
    body = payable_body(payer)
    body["payer"]["phone"] = PHONE
    response = api.post("/api/v1/payables", body)
    assert response.status_code == 201, response.text
    return str(response.json()["payment_code"])


def _rows_of(html: str, code: str) -> list[str]:
    return [part for part in html.split("<tr ")[1:] if f'data-code="{code}"' in part]


def _sent_rows(stack: Any, console: Any, code: str, count: int) -> list[str]:
    """The payable's `count` messages once every one is sent: the payment's message is made
    from its event, and the stack's own worker may hold the sending job for a moment."""

    def sent() -> list[str]:
        run_once(stack.container, MESSAGES)
        rows = _rows_of(console.get("/console/messages").text, code)
        done = len(rows) == count and all('data-status="sent"' in r for r in rows)
        return rows if done else []

    return wait_until(sent, timeout_s=15, message=f"{count} sent messages of {code}")


def test_registration_and_payment_messages_are_sent_and_listed_masked(
    stack: Any, api: SignedClient, payer: dict[str, str], unit: dict[str, Any]
) -> None:
    code = _register_with_phone(api, payer)
    run_once(stack.container, MESSAGES)
    pay(stack, code)
    run_once(stack.container, MESSAGES)

    admin = make_user(stack, "finance_admin")
    with logged_in(stack.info["base_url"], admin) as console:
        rows = _sent_rows(stack, console, code, 2)
        page = console.get("/console/messages")
    assert page.status_code == 200
    paid, registered = rows  # newest first
    assert 'data-kind="paid"' in paid
    assert 'data-status="sent"' in paid
    assert 'data-kind="registered"' in registered
    link = f"{stack.info['base_url']}/pay/{code}"
    assert link in registered
    assert link in paid
    assert "139****1234" in registered
    assert PHONE not in page.text
    assert "电子票据" in paid


def test_the_link_in_the_message_opens_the_pay_page(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = _register_with_phone(api, payer)
    run_once(stack.container, MESSAGES)
    admin = make_user(stack, "finance_admin")
    with logged_in(stack.info["base_url"], admin) as console:
        (row,) = _sent_rows(stack, console, code, 1)
    link = row.split("：http")[1].split("<")[0]
    page = httpx.get(f"http{link}")
    assert page.status_code == 200
    assert code in page.text


def test_another_units_admin_does_not_see_the_messages(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = _register_with_phone(api, payer)
    run_once(stack.container, MESSAGES)
    school = stack.info["units"][2]
    with stack.container.read_uow() as uow:
        found = all_units(uow.connection)
    school_id = next(u.id for u in found if u.code == school["code"])
    school_admin = make_user(stack, "unit_admin", unit_id=school_id)
    with logged_in(stack.info["base_url"], school_admin) as console:
        page = console.get("/console/messages")
    assert page.status_code == 200
    assert code not in page.text
    cashier = make_user(stack, "cashier", unit_id=school_id)
    with logged_in(stack.info["base_url"], cashier) as console:
        assert console.get("/console/messages").status_code == 403
