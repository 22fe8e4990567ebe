"""Window POS bank cards in reconciliation (docs/card-settlement.md), over HTTP: a day of card
payments taken at a window, the acquirer's settlement file fetched from the workbench, every
line matched by RRN; a settled amount other than the payment is an exception the workbench
shows, clearing refuses the day until it is resolved and reviewed by another person, then
clears the card payment with the acquirer's fee netted; a refused file stores nothing; a sale
the acquirer settled whose answer never reached the platform is a 长款 recovered (补单) from the
workbench by asking the acquirer, never refunded through it; the acquirer's net settlement on
the collection account is matched (the third way)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from publicpay.adapters.channels.card_terminal import CardTerminalHost
from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.reconciliation.tables import statements
from publicpay.bootstrap import card_mac_key
from publicpay.demo.stack import Stack
from publicpay.domain.reconciliation import DayNotReconciled
from publicpay.domain.time import SHANGHAI
from publicpay.emulators.acquirer import NextCard, fee_of
from publicpay.emulators.bank.statement import render
from publicpay.services.payments.card import CardPolling
from publicpay.services.reconciliation.clearing import run_clearing
from publicpay.web.console import pos as pos_page
from tests.integration.console_kit import csrf_of, logged_in, make_user
from tests.integration.pos_kit import (
    at_window,
    card_terminal_id,
    new_plate,
    orders_of,
    register_with_plate,
)
from tests.integration.recon_kit import (
    exceptions_for,
    import_file,
    line_of,
    own_stack,
    resolve,
    run_day,
    today,
    unit_api,
    uploads_refused,
)

ACCOUNT = "33050161000000000013"


@pytest.fixture(scope="module")
def own(new_database_url: Any) -> Iterator[Stack]:
    """A platform of its own: its card day and its clearing hold only this module's payments."""
    with own_stack(new_database_url(), ACCOUNT) as built:
        yield built


def _order(stack: Stack, code: str) -> Any:
    [paid] = [o for o in orders_of(stack, code) if o.status == "succeeded"]
    return paid


def _paid_by_card(stack: Stack, n: int) -> list[Any]:
    """`n` payables paid by card at a window; their orders."""
    api, payer = unit_api(stack), stack.info["payers"][0]
    codes = [register_with_plate(api, payer, new_plate())["payment_code"] for _ in range(n)]
    with at_window(stack) as (client, _window_id, app_id):
        tid = card_terminal_id(stack, app_id)
        for code in codes:
            stack.acquirer.present(tid, NextCard(entry="insert", card_no="6217001234567895"))
            page = client.get(f"/console/pos/pay/{code}")
            paid = client.post(f"/console/pos/pay/{code}/card", data={"csrf": csrf_of(page.text)})
            assert "银行卡支付成功" in paid.text, paid.text
    return [_order(stack, code) for code in codes]


def _approve(stack: Stack, reviewer: Any, exception_id: int) -> None:
    """A second person approves the resolution on the workbench."""
    with logged_in(stack.info["base_url"], reviewer) as client:
        detail = client.get(f"/console/reconciliation/exceptions/{exception_id}")
        reviewed = client.post(
            f"/console/reconciliation/exceptions/{exception_id}/review",
            data={"csrf": csrf_of(detail.text), "decision": "approve"},
        )
        assert reviewed.status_code == 303, reviewed.text


def _tampered(content: bytes, rrn: str, more_fen: int) -> bytes:
    """The acquirer's file with the sale `rrn` settled for `more_fen` more (fee, settled
    amount and the totals kept consistent: a file the parser accepts)."""
    lines = content.decode("gbk").split("\r\n")
    for i, line in enumerate(lines):
        fields = line.split("|")
        if fields[0] == "D" and fields[7] == rrn:
            amount = int(fields[10]) + more_fen
            old_fee, fee = int(fields[11]), fee_of(amount)
            fields[10], fields[11], fields[12] = str(amount), str(fee), str(amount - fee)
            lines[i] = "|".join(fields)
            total = lines[-2].split("|")
            total[2] = str(int(total[2]) + more_fen)
            total[3] = str(int(total[3]) + fee - old_fee)
            total[4] = str(int(total[2]) - int(total[3]))
            lines[-2] = "|".join(total)
    return "\r\n".join(lines).encode("gbk")


def test_a_day_of_card_payments_is_fetched_from_the_acquirer_and_matched(own):
    orders = _paid_by_card(own, 2)
    day = today().isoformat()
    admin = make_user(own, "finance_admin")
    with logged_in(own.info["base_url"], admin) as client:
        overview = client.get("/console/reconciliation")
        assert "银行卡收单" in overview.text
        page = client.get(f"/console/reconciliation/card/{day}")
        assert page.status_code == 200, page.text
        ran = client.post(f"/console/reconciliation/card/{day}/run",
                          data={"csrf": csrf_of(page.text)})  # fmt: skip
        assert ran.status_code == 303, ran.text
        page = client.get(f"/console/reconciliation/card/{day}")
        overview = client.get("/console/reconciliation")
    for order in orders:
        line = line_of(own, order.order_no)
        assert (line.match_class, line.trade_no) == ("matched", order.channel_trade_no)
        assert line.fee_fen == fee_of(order.amount_fen)
        assert order.order_no in page.text
    assert f'data-source="card" data-day="{day}"' in overview.text
    record = run_day(own, "card")  # the worker's run: the same file again changes nothing
    assert record.status == "reconciled", record.counts
    assert record.fee_fen == sum(fee_of(o.amount_fen) for o in orders)


def test_a_refused_settlement_file_is_explained_and_stores_nothing(own):
    day = today().isoformat()
    content = own.container.card_host.fetch_settlement(today())
    bad = {
        "truncated": (content[: len(content) // 2], "不完整"),
        "not gbk": (b"\xff" + content, "GBK"),
    }
    admin = make_user(own, "finance_admin")
    with own.container.engines.read.connect() as conn:
        before = len(list(conn.execute(select(statements.c.id))))
    with logged_in(own.info["base_url"], admin) as client:
        uploads_refused(client, "card", day, bad, ("settle.txt", "text/plain"))
    with own.container.engines.read.connect() as conn:
        assert len(list(conn.execute(select(statements.c.id)))) == before


def test_an_amount_mismatch_is_raised_reviewed_and_then_cleared(own):
    [order] = _paid_by_card(own, 1)
    day = today().isoformat()
    content = own.container.card_host.fetch_settlement(today())  # over HTTP, signed
    tampered = _tampered(content, order.channel_trade_no, 100)
    admin, reviewer = make_user(own, "finance_admin"), make_user(own, "finance_reviewer")
    with logged_in(own.info["base_url"], admin) as client:
        token = csrf_of(client.get(f"/console/reconciliation/card/{day}").text)
        uploaded = client.post(
            f"/console/reconciliation/card/{day}/upload",
            data={"csrf": token},
            files={"file": ("settle.txt", tampered, "text/plain")},
        )
        assert uploaded.status_code == 303, uploaded.text
        [item] = exceptions_for(own, order.order_no)
        assert (item.match_class, item.status, item.source) == ("amount_mismatch", "open", "card")
        overview = client.get("/console/reconciliation")
        assert "day-exceptions" in overview.text
        detail = client.get(f"/console/reconciliation/exceptions/{item.id}")
        assert "金额不符" in detail.text
        assert order.order_no in detail.text
        with pytest.raises(DayNotReconciled, match="银行卡收单"):
            _clear(own)
        resolved = resolve(
            client, item.id, csrf_of(detail.text), "write_off", "收单机构多结算 1 元，计入核销收入"
        )
        assert resolved.status_code == 303, resolved.text
    with pytest.raises(DayNotReconciled, match="银行卡收单"):
        _clear(own)  # resolved, not reviewed yet
    _approve(own, reviewer, item.id)
    assert exceptions_for(own, order.order_no)[0].status == "closed"
    window = _clear(own)
    assert window.status.value == "confirmed"
    assert window.fees_fen > 0  # the acquirer's fee, netted and shown
    assert window.gross_fen >= order.amount_fen  # the payment is cleared at its own amount
    with own.container.engines.read.connect() as conn:  # statements, clearing, ledger agree
        checked = run_checks(conn)
        assert checked.ok, checked.lines()


def _clear(stack: Stack) -> Any:
    c = stack.container
    return run_clearing(c.uow, c.treasury(), today(), ACCOUNT, clock=c.clock, actor="test")


@pytest.fixture
def quick_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The POS page's queries after a lost answer, without the real seconds between them."""
    monkeypatch.setattr(pos_page, "CARD_POLLING", CardPolling(queries=1, interval_s=0.01))


def test_a_settled_sale_whose_answer_was_lost_is_recovered_from_the_workbench(own, quick_queries):
    api, payer = unit_api(own), own.info["payers"][0]
    code = register_with_plate(api, payer, new_plate())["payment_code"]
    c = own.container
    with at_window(own) as (client, _window_id, app_id):
        tid = card_terminal_id(own, app_id)
        page = client.get(f"/console/pos/pay/{code}")
        before = c.card_host
        c.card_host = CardTerminalHost("http://127.0.0.1:9/acquirer", c.settings.card_merchant_id,
                                       card_mac_key(c.settings), timeout_s=0.3)  # fmt: skip
        try:  # the host approves the sale, but neither its answer nor a query gets through
            unknown = client.post(
                f"/console/pos/pay/{code}/card", data={"csrf": csrf_of(page.text)}
            )
        finally:
            c.card_host.close()
            c.card_host = before
        assert 'id="card-query"' in unknown.text, unknown.text
    [order] = orders_of(own, code)
    assert order.status == "paying"
    own.acquirer.sale({"mid": c.settings.card_merchant_id, "tid": tid,
                       "out_order_no": order.order_no, "amount": order.amount_fen})  # fmt: skip
    run_day(own, "card")
    [item] = exceptions_for(own, order.order_no)
    assert (item.match_class, item.status) == ("channel_only", "open")
    admin, reviewer = make_user(own, "finance_admin"), make_user(own, "finance_reviewer")
    with logged_in(own.info["base_url"], admin) as client:
        detail = client.get(f"/console/reconciliation/exceptions/{item.id}")
        back = resolve(client, item.id, csrf_of(detail.text), "refund", "原路退回持卡人")
        assert back.status_code == 422  # no refund through the acquirer: a bank transfer
        assert "银行转账" in back.text
        recovered = resolve(
            client, item.id, csrf_of(detail.text), "recover", "收单机构已结算，应答丢失，补单"
        )
        assert recovered.status_code == 303, recovered.text
    [order] = orders_of(own, code)
    assert order.status == "succeeded"
    assert (
        order.channel_trade_no
        == own.acquirer.sales[(c.settings.card_merchant_id, order.order_no)].rrn
    )
    _approve(own, reviewer, item.id)
    assert exceptions_for(own, order.order_no)[0].status == "closed"
    assert run_day(own, "card").status == "reconciled"
    assert line_of(own, order.order_no).match_class == "matched"


def test_the_acquirers_net_settlement_on_the_collection_account_is_matched(own):
    """The third way: on D+1 the acquirer pays Σ 清算金额 of day D into the collection
    account (`SETTLE:card:D`), matched against the reconciled card day's gross − fees."""
    day = run_day(own, "card")
    tomorrow = today() + timedelta(days=1)
    bank, before = own.bank, own.bank.now
    bank.now = lambda: datetime.combine(tomorrow, time(12, 0), SHANGHAI)
    try:
        moves = [m for m in bank.movements(tomorrow) if m.reference == f"SETTLE:card:{today()}"]
    finally:
        bank.now = before
    assert [(m.direction, m.amount_fen) for m in moves] == [("C", day.gross_fen - day.fee_fen)]
    assert day.fee_fen > 0  # the acquirer pays net of its fee
    statement = import_file(own, "bank", render(ACCOUNT, tomorrow, moves), day=tomorrow)
    assert statement.counts == {"matched": 1}, statement.counts
