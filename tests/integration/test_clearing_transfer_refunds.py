"""Refunds paid by bank transfer netted in clearing, on a platform of its own: a counter
payment's refund, paid from the collection account and its `REFUND:` debit matched, is taken
off what the next clearing window sends to the treasury (by level, shown apart, in the voucher),
once only; one matched after a window was confirmed is netted by the next window; the treasury
payable is settled instead of left owed back, and `publicpay check` holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.reconciliation.tables import (
    clearing_lines,
    clearing_refunds,
    clearing_windows,
)
from publicpay.demo.stack import Stack
from publicpay.domain.errors import Conflict
from publicpay.services.reconciliation.clearing import run_clearing
from tests.integration.console_kit import logged_in, make_user
from tests.integration.receipt_kit import drain
from tests.integration.recon_kit import (
    bare_window,
    counter_payment,
    owed_to_treasury,
    own_stack,
    refund_by_transfer,
    run_day,
    today,
)

ACCOUNT = "33050161000000000089"


@pytest.fixture(scope="module")
def own(new_database_url: Any) -> Iterator[Stack]:
    with own_stack(new_database_url(), ACCOUNT, visits_to_the_bank=True) as built:
        yield built


def _clear(stack: Stack, day: date) -> Any:
    c = stack.container
    return run_clearing(c.uow, c.treasury(), day, ACCOUNT, clock=c.clock, actor="test")


def _read(stack: Stack, stmt: Any) -> list[Any]:
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt))


def _netted(stack: Stack) -> list[tuple[int, int]]:
    stmt = select(clearing_refunds.c.window_id, clearing_refunds.c.amount_fen).order_by(
        clearing_refunds.c.id
    )
    return [(int(w), int(f)) for w, f in _read(stack, stmt)]


def _taken_back(stack: Stack, window_id: int, code: str) -> int:
    stmt = select(func.coalesce(func.sum(clearing_lines.c.amount_fen), 0)).where(
        clearing_lines.c.window_id == window_id,
        clearing_lines.c.payment_code == code,
        clearing_lines.c.amount_fen < 0,
    )
    return int(_read(stack, stmt)[0][0])


def _checks_hold(stack: Stack) -> None:
    drain(stack)  # the refunds' red and replacement receipts
    with stack.container.engines.read.connect() as conn:
        report = run_checks(conn)
    assert report.ok, report.violations


def test_transfer_refunds_are_netted_by_the_next_window_once_and_the_ledger_follows(own):
    yesterday = today() - timedelta(days=1)
    code_a, due_a = counter_payment(own, yesterday)
    code_b, due_b = counter_payment(own, today())
    refund_a = refund_by_transfer(own, code_a, 3_333)
    run_day(own, "counter", yesterday)
    run_day(own, "counter")
    run_day(own, "bank")  # REFUND:<refund a> matched, before any clearing

    first = _clear(own, yesterday)  # nets the refund matched before it
    assert first.status.value == "confirmed", first.failure
    assert (first.gross_fen, first.refunds_fen) == (due_a, 0)
    assert (first.transfer_refunds_fen, first.total_fen) == (3_333, due_a - 3_333)
    assert sum(first.by_level.values()) == first.total_fen
    assert _taken_back(own, first.id, code_a) == -3_333  # by level, exact to the fen
    assert _netted(own) == [(first.id, 3_333)]
    _checks_hold(own)

    refund_b = refund_by_transfer(own, code_b, 2_000)  # after the first window was confirmed
    run_day(own, "bank")
    second = _clear(own, today())
    assert second.status.value == "confirmed", second.failure
    assert (second.transfer_refunds_fen, second.total_fen) == (2_000, due_b - 2_000)
    assert _taken_back(own, second.id, code_b) == -2_000
    assert _taken_back(own, second.id, code_a) == 0  # never twice
    assert _netted(own) == [(first.id, 3_333), (second.id, 2_000)]
    assert (_clear(own, yesterday).id, _clear(own, today()).id) == (first.id, second.id)
    assert _netted(own) == [(first.id, 3_333), (second.id, 2_000)]
    # the refunds' shares the treasury gave back are settled by the netting, not owed back
    assert owed_to_treasury(own) == {}  # every level, to the fen
    _checks_hold(own)

    c = own.container
    with c.read_uow() as uow:
        voucher = uow.clearing.voucher(second.id) or ""
    assert "<TransferRefundAmt>20.00</TransferRefundAmt>" in voucher
    with logged_in(own.info["base_url"], make_user(own, "finance_reviewer")) as client:
        page = client.get(f"/console/clearing/{second.id}")
        listed = client.get("/console/clearing")
    assert page.status_code == 200
    netting = page.text[page.text.index('id="netted-refunds"') :]
    assert refund_b in netting
    assert code_b in netting
    assert refund_a not in netting
    assert "20.00" in page.text[page.text.index('id="transfer-refunds"') :]
    row = listed.text[listed.text.index(f'data-window="{second.id}"') :]
    assert "转账退款 ¥20.00" in row[: row.index("</tr>")]


def test_a_second_window_netting_the_same_refund_is_refused_whole(own):
    """Two windows opened at once could both pick a refund: the database nets it once, the
    second window is refused with a clear conflict and leaves nothing behind."""
    code, _ = counter_payment(own, today())
    refund_no = refund_by_transfer(own, code, 1_000)
    run_day(own, "bank")  # its debit matched
    c = own.container
    with c.read_uow() as uow:
        [row] = [r for r in uow.clearing.transfer_refunds_to_net() if r.payment_code == code]
    far = today() + timedelta(days=400)
    for day in (far, far + timedelta(days=1)):
        window = bare_window(own, day, ACCOUNT, gross_fen=1_000, transfer_refunds_fen=1_000)
        with c.uow() as uow:
            uow.clearing.add_window(window, [], [row])
            if day == far:
                uow.commit()
                continue
            with pytest.raises(Conflict, match="另一清算窗口"):
                uow.commit()
    with c.read_uow() as uow:
        assert uow.clearing.window(far + timedelta(days=1), ACCOUNT) is None
        netted = uow.clearing.window(far, ACCOUNT)
        assert netted is not None
        assert [r.refund_no for r in uow.clearing.netted(netted.id)] == [refund_no]
    _remove_window(own, netted.id)  # the bare window written here: leave check holding
    _checks_hold(own)


def _remove_window(stack: Stack, window_id: int) -> None:
    with stack.container.engines.write.begin() as conn:
        conn.execute(delete(clearing_refunds).where(clearing_refunds.c.window_id == window_id))
        conn.execute(delete(clearing_windows).where(clearing_windows.c.id == window_id))
