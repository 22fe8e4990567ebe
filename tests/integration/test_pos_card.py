"""Bank card at the window POS (issue 13): the sale runs on the window's terminal through the
emulated acquirer (card read, PIN, authorisation), is booked like any channel (order in the
shift, ledger, receipt) with the card's facts; a declined card charges nothing; a lost answer
is queried, never sent again; an outcome still unknown is queried before another sale."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from publicpay.adapters.channels.card_terminal import CardTerminalHost
from publicpay.adapters.db.ledger import ledger_postings
from publicpay.bootstrap import card_mac_key
from publicpay.emulators.acquirer import NextCard
from publicpay.services.payments.card import CardPolling
from publicpay.web.console import pos as pos_page
from tests.integration.console_kit import csrf_of, logged_in, make_user
from tests.integration.pos_kit import (
    at_window,
    card_terminal_id,
    new_plate,
    office_id,
    orders_of,
    register_with_plate,
)
from tests.support.client import SignedClient


def _card_form(client: Any, code: str) -> str:
    page = client.get(f"/console/pos/pay/{code}")
    assert 'id="pay-card"' in page.text
    return csrf_of(page.text)


@pytest.fixture(autouse=True)
def quick_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's queries after a lost answer, without the real seconds between them."""
    monkeypatch.setattr(pos_page, "CARD_POLLING", CardPolling(queries=2, interval_s=0.05))


@contextmanager
def acquirer_at(stack: Any, url: str, timeout_s: float) -> Iterator[None]:
    """The platform's card host pointed elsewhere (or with a short timeout) for a while."""
    c = stack.container
    before = c.card_host
    key = card_mac_key(c.settings)
    c.card_host = CardTerminalHost(url, c.settings.card_merchant_id, key, timeout_s=timeout_s)
    try:
        yield
    finally:
        c.card_host.close()
        c.card_host = before


def test_a_card_tapped_at_the_terminal_pays_the_payable_in_the_shift(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register_with_plate(api, payer, new_plate())["payment_code"]
    with at_window(stack) as (client, window_id, app_id):
        tid = card_terminal_id(stack, app_id)
        stack.acquirer.present(tid, NextCard(entry="insert", card_no="6217001234567895"))
        paid = client.post(f"/console/pos/pay/{code}/card", data={"csrf": _card_form(client, code)})
        assert paid.status_code == 200, paid.text
        assert "银行卡支付成功" in paid.text
        assert "621700******7895" in paid.text  # the masked card number, never the whole
        assert "6217001234567895" not in paid.text
        (order,) = orders_of(stack, code)
        assert (order.channel, order.method, order.status) == ("card", "card", "succeeded")
        assert order.window_id == window_id
        assert order.shift_id is not None
        assert f'id="rrn">{order.channel_trade_no}<' in paid.text
        with stack.container.engines.read.connect() as conn:
            accounts = conn.execute(
                select(ledger_postings.c.account).where(
                    ledger_postings.c.amount_fen == order.amount_fen
                )
            ).scalars()
            assert "channel_receivable:card" in set(accounts)
        again = client.post(f"/console/pos/pay/{code}/card", data={"csrf": csrf_of(paid.text)})
        assert again.status_code == 422  # paid: no second sale
        assert len(orders_of(stack, code)) == 1


def test_a_declined_card_charges_nothing_and_another_card_can_pay(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register_with_plate(api, payer, new_plate())["payment_code"]
    with at_window(stack) as (client, _window_id, app_id):
        tid = card_terminal_id(stack, app_id)
        csrf = _card_form(client, code)
        for result, message in (("insufficient_funds", "余额不足"), ("wrong_pin", "密码错误"),
                                ("unreadable", "读卡失败")):  # fmt: skip
            stack.acquirer.present(tid, NextCard(result=result))
            refused = client.post(f"/console/pos/pay/{code}/card", data={"csrf": csrf})
            assert refused.status_code == 422, refused.text
            assert message in refused.text
            assert "未扣款" in refused.text
        assert {o.status for o in orders_of(stack, code)} == {"failed"}
        paid = client.post(f"/console/pos/pay/{code}/card", data={"csrf": csrf})
        assert "银行卡支付成功" in paid.text
        assert [o.status for o in orders_of(stack, code)].count("succeeded") == 1


def test_a_lost_answer_is_queried_and_the_card_is_charged_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register_with_plate(api, payer, new_plate())["payment_code"]
    base = stack.info["base_url"] + "/emulator/acquirer"
    with at_window(stack) as (client, _window_id, app_id):
        tid = card_terminal_id(stack, app_id)
        stack.acquirer.present(tid, NextCard(answer_after_s=3000))  # × 0.001: 3 s, after timeout
        csrf = _card_form(client, code)
        with acquirer_at(stack, base, timeout_s=0.5):
            paid = client.post(f"/console/pos/pay/{code}/card", data={"csrf": csrf})
        assert paid.status_code == 200, paid.text
        assert "银行卡支付成功" in paid.text
        (order,) = orders_of(stack, code)
        assert order.status == "succeeded"
        sales = [s for s in stack.acquirer.sales.values() if s.tid == tid]
        assert len(sales) == 1  # one sale at the host: queried, never sent again


def test_an_unknown_outcome_is_queried_before_another_sale(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code = register_with_plate(api, payer, new_plate())["payment_code"]
    with at_window(stack) as (client, _window_id, _app_id):
        csrf = _card_form(client, code)
        with acquirer_at(stack, "http://127.0.0.1:9/acquirer", timeout_s=0.5):  # nobody answers
            unknown = client.post(f"/console/pos/pay/{code}/card", data={"csrf": csrf})
            assert unknown.status_code == 422, unknown.text
            assert 'id="card-query"' in unknown.text
            assert "不要重复刷卡" in unknown.text
            retry = client.post(f"/console/pos/pay/{code}/card", data={"csrf": csrf})
            assert retry.status_code == 422  # still unknown: no second sale
            assert "尚未确认" in retry.text
        assert [o.status for o in orders_of(stack, code)] == ["paying"]
        settled = client.post(f"/console/pos/pay/{code}/card/query", data={"csrf": csrf})
        assert "未成功（未扣款）" in settled.text  # the host never saw it
        assert [o.status for o in orders_of(stack, code)] == ["failed"]
        paid = client.post(f"/console/pos/pay/{code}/card", data={"csrf": csrf})
        assert "银行卡支付成功" in paid.text


def test_a_unit_admin_registers_a_pos_with_its_card_terminal_id(stack: Any) -> None:
    unit_id = office_id(stack)
    with stack.container.uow() as uow:
        site = next(s for s in uow.units.sites() if s.code == "CG-HALL")
        suffix = secrets.token_hex(3)
        window_id = uow.units.add_window(site.id, f"R{suffix}", f"登记窗口{suffix}")
        uow.commit()
    tid = f"8{secrets.randbelow(10**7):07d}"
    base = stack.info["base_url"]
    with logged_in(base, make_user(stack, "unit_admin", unit_id=unit_id)) as client:
        page = client.get("/console/devices")
        assert 'id="card-terminal-id"' in page.text
        form = {"csrf": csrf_of(page.text), "kind": "pos", "name": "登记测试POS",
                "site_id": str(site.id), "window_id": str(window_id)}  # fmt: skip
        bad = client.post(
            "/console/devices", data={**form, "app_id": f"pos_r{suffix}", "card_terminal_id": "12"}
        )
        assert bad.status_code == 422
        assert "8位数字" in bad.text
        done = client.post(
            "/console/devices", data={**form, "app_id": f"pos_r{suffix}", "card_terminal_id": tid}
        )
        assert done.status_code == 200, done.text
    assert card_terminal_id(stack, f"pos_r{suffix}") == tid
