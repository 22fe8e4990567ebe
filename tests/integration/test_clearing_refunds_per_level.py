"""A payment refunded twice through its channel, reconciled and cleared, on a platform of its own:
the window takes each refund back per budget level exactly as the ledger's refund journals did
(cumulatively), so what it sends each level is the ledger's per-level balance of that payment to
the fen — where taking each refund back in proportion would be a fen off at every level — and
`publicpay check` proves it per payment and level."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.reconciliation.tables import clearing_lines
from publicpay.demo.stack import Stack
from publicpay.services.reconciliation.clearing import run_clearing
from tests.conftest import payable_body
from tests.integration.receipt_kit import drain
from tests.integration.recon_kit import own_stack, run_day, three_level_item, today, unit_api
from tests.integration.refund_kit import approved_refund
from tests.integration.test_payment_flow import pay_with_alipay
from tests.support.db import ledger_for, payable_id

ACCOUNT = "33050161000000000031"
# 10.01 yuan shared equally by province, city and county: 333 / 333 / 335 fen (the rounding's
# two fen to the lowest level); refunded 1.00 then 2.00 yuan
PAID, FIRST, SECOND = 1001, 100, 200
LEVELS = ("province", "city", "county")


@pytest.fixture(scope="module")
def own(new_database_url: Any) -> Iterator[Stack]:
    with own_stack(new_database_url(), ACCOUNT) as built:
        yield built


def test_a_payment_refunded_twice_clears_each_level_to_the_fen_of_the_ledger(own: Stack) -> None:
    api = unit_api(own)
    registered = api.post(
        "/api/v1/payables", payable_body(own.info["payers"][0], three_level_item(own, PAID))
    )
    assert registered.status_code == 201, registered.text
    code = registered.json()["payment_code"]
    assert registered.json()["amount_fen"] == PAID
    pay_with_alipay(own, code)
    for amount in (FIRST, SECOND):  # two partial refunds through Alipay, one after the other
        approved_refund(own, api, code, amount)
        drain(own)
    assert api.get(f"/api/v1/payables/{code}").json()["refunded_fen"] == FIRST + SECOND
    ledger = ledger_for(own, payable_id(own, code))
    kept = {level: -ledger[f"treasury_payable:{level}"] for level in LEVELS}
    # the ledger took 100 then 200 back as 100 / 100 / 100 in all (cumulative); in proportion
    # each refund would have been 33 / 33 / 34 and 66 / 66 / 68: 99 / 99 / 102
    assert kept == {"province": 233, "city": 233, "county": 235}

    day = run_day(own, "alipay")
    assert day.status == "reconciled", day.counts
    c = own.container
    window = run_clearing(c.uow, c.treasury(), today(), ACCOUNT, clock=c.clock, actor="test")
    assert window.status.value == "confirmed"
    assert window.by_level == kept
    assert (window.gross_fen, window.refunds_fen) == (PAID, FIRST + SECOND)
    with c.engines.read.connect() as conn:
        report = run_checks(conn)
    assert report.ok, report.lines()
    assert any("每个预算级次" in checked for checked in report.checked)


def test_the_check_names_a_payment_whose_levels_are_cleared_other_than_booked(own: Stack) -> None:
    """A fen moved between two levels of one payment's lines (the window's total unchanged, so
    only the per-level check sees it) is named by `publicpay check`, level by level."""
    with own.container.engines.write.begin() as conn:
        line = conn.execute(
            select(clearing_lines).where(clearing_lines.c.amount_fen > 0).limit(1)
        ).one()
        other = conn.execute(
            select(clearing_lines).where(
                clearing_lines.c.payment_code == line.payment_code,
                clearing_lines.c.level != line.level,
                clearing_lines.c.amount_fen > 0,
            )
        ).first()
        assert other is not None
        for row, fen in ((line, 1), (other, -1)):
            conn.execute(
                update(clearing_lines)
                .where(clearing_lines.c.id == row.id)
                .values(amount_fen=clearing_lines.c.amount_fen + fen)
            )
        report = run_checks(conn)
        found = [v for v in report.violations if line.payment_code in v]
        conn.rollback()
    assert len(found) == 2, report.lines()
    assert any(f"treasury_payable:{line.level}" in v for v in found)
    assert any(f"treasury_payable:{other.level}" in v for v in found)
