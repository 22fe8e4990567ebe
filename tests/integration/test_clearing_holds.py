"""A window never sends a budget level less than nothing, on a platform of its own: yesterday's
window cleared a counter payment of 10.01 yuan over province, city and county; its full refund,
paid by transfer, is netted by today's window, whose only payment is all county — the province
and city cannot give back 3.33 yuan each that day, so the window holds those parts (shown with
their reason on the clearing pages and in the voucher) for the next window, sends every level
zero or more, the treasury confirms it, the ledger keeps exactly the held parts owed back by
those levels, and `publicpay check` holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update

from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.reconciliation.tables import clearing_holds, clearing_windows
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
    three_level_item,
    today,
)

ACCOUNT = "33050161000000000131"


@pytest.fixture(scope="module")
def own(new_database_url: Any) -> Iterator[Stack]:
    with own_stack(new_database_url(), ACCOUNT, visits_to_the_bank=True) as built:
        yield built


def test_what_a_level_cannot_take_back_is_held_for_the_next_window_and_shown(own: Stack) -> None:
    c = own.container
    yesterday = today() - timedelta(days=1)
    code_a, due_a = counter_payment(own, yesterday, three_level_item(own, 1001))
    run_day(own, "counter", yesterday)
    first = run_clearing(c.uow, c.treasury(), yesterday, ACCOUNT, clock=c.clock, actor="test")
    assert first.status.value == "confirmed", first.failure
    assert first.by_level == {"province": 333, "city": 333, "county": 335}

    refund_no = refund_by_transfer(own, code_a, due_a)  # all of it, paid by transfer
    _, due_b = counter_payment(own, today())  # GA0101: all county
    run_day(own, "counter")
    run_day(own, "bank")  # the refund's debit matched
    second = run_clearing(c.uow, c.treasury(), today(), ACCOUNT, clock=c.clock, actor="test")
    assert second.status.value == "confirmed", second.failure  # the treasury takes it
    assert second.transfer_refunds_fen == due_a
    assert (second.held_fen, second.carried_fen) == (666, 0)
    assert second.by_level == {"county": due_b - 335}  # province and city: nothing, not −3.33
    assert second.total_fen == due_b - due_a + 666
    # the ledger: the two levels gave back 3.33 yuan each that no window has taken back yet
    assert owed_to_treasury(own) == {"treasury_payable:province": 333, "treasury_payable:city": 333}
    drain(own)
    with c.engines.read.connect() as conn:
        report = run_checks(conn)
    assert report.ok, report.violations

    with c.read_uow() as uow:
        voucher = uow.clearing.voucher(second.id) or ""
        waiting = uow.clearing.holds_to_take()
    assert "<HeldRefundAmt>6.66</HeldRefundAmt>" in voucher
    assert "<Remark>2</Remark>" not in voucher  # no province detail: all of it held
    assert "<Remark>3</Remark>" not in voucher  # nor city
    assert sorted((h.level, int(h.amount_fen), h.payment_code) for h in waiting) == [
        ("city", -333, code_a),
        ("province", -333, code_a),
    ]
    with logged_in(own.info["base_url"], make_user(own, "finance_reviewer")) as client:
        page = client.get(f"/console/clearing/{second.id}")
        listed = client.get("/console/clearing")
    assert page.status_code == 200
    held = page.text[page.text.index('id="held-refunds"') :]
    assert code_a in held
    assert "结转下一清算窗口" in held
    assert "6.66" in page.text[page.text.index('id="held"') :]
    assert refund_no in page.text  # the netted transfer refund it came from
    waiting_section = listed.text[listed.text.index('id="waiting-holds"') :]
    assert code_a in waiting_section
    assert "结转下一清算窗口" in waiting_section


def test_a_hold_is_taken_back_by_one_window_only(own: Stack) -> None:
    """Two windows opened at once could both take a held part back: the first takes it (the
    hold names it), the second is refused whole with a clear conflict and leaves nothing."""
    c = own.container
    with c.read_uow() as uow:
        waiting = uow.clearing.holds_to_take()
    assert waiting  # the previous test's two held parts
    ids = [int(h.id) for h in waiting]
    far = today() + timedelta(days=400)
    windows = []
    for day in (far, far + timedelta(days=1)):
        window = bare_window(own, day, ACCOUNT)
        with c.uow() as uow:
            if day == far:
                uow.clearing.add_window(window, [], taken=ids)
                uow.commit()
                windows.append(window)
                continue
            with pytest.raises(Conflict, match="另一清算窗口"):
                uow.clearing.add_window(window, [], taken=ids[:1])
    with c.read_uow() as uow:
        assert uow.clearing.holds_to_take() == []
        assert uow.clearing.window(far + timedelta(days=1), ACCOUNT) is None
        taken = uow.clearing.holds(windows[0].id)
    assert sorted(int(h.id) for h in taken) == ids
    assert {h.taken_by for h in taken} == {windows[0].id}
    # the bare window written here goes again, its holds wait again: check keeps holding
    with c.engines.write.begin() as conn:
        conn.execute(
            update(clearing_holds)
            .where(clearing_holds.c.taken_by == windows[0].id)
            .values(taken_by=None)
        )
        conn.execute(delete(clearing_windows).where(clearing_windows.c.id == windows[0].id))
    with c.read_uow() as uow:
        assert sorted(int(h.id) for h in uow.clearing.holds_to_take()) == ids
    with c.engines.read.connect() as conn:
        report = run_checks(conn)
    assert report.ok, report.violations
