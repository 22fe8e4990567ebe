"""Clearing a reconciled day (S1) on a platform of its own: the window splits every reconciled
payment by subject, level and destination exactly to the fen, the 5408 voucher goes to the
emulated treasury, whose receipt confirms it; the ledger follows each step; refusals change
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from publicpay.adapters.db.ledger import ledger_journals, ledger_postings
from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.adapters.db.reconciliation.tables import clearing_windows
from publicpay.demo.stack import Stack
from publicpay.domain.clearing import ReceiptRefused
from publicpay.domain.reconciliation import Action, DayNotReconciled, StatementRefused
from publicpay.services.reconciliation.clearing import apply_receipt, run_clearing
from publicpay.services.reconciliation.exceptions import resolve_exception, review_exception
from tests.integration.console_kit import csrf_of, logged_in, make_user
from tests.integration.fault_kit import fault
from tests.integration.recon_kit import (
    count,
    exceptions_for,
    import_file,
    own_stack,
    run_day,
    today,
    unit_api,
)
from tests.integration.test_payment_flow import open_order, pay_with_alipay, register, scan
from tests.support.client import SignedClient

ACCOUNT = "33050161000000000001"


@pytest.fixture(scope="module")
def own(new_database_url: Any) -> Iterator[Stack]:
    with own_stack(new_database_url(), ACCOUNT) as built:
        yield built


def _clear(stack: Stack) -> Any:
    c = stack.container
    return run_clearing(c.uow, c.treasury(), today(), ACCOUNT, clock=c.clock, actor="test")


def _postings(stack: Stack, kind: str) -> list[tuple[str, int]]:
    stmt = (
        select(ledger_postings.c.account, ledger_postings.c.amount_fen)
        .join(ledger_journals, ledger_journals.c.id == ledger_postings.c.journal_id)
        .where(ledger_journals.c.kind == kind)
        .order_by(ledger_postings.c.id)
    )
    with stack.container.engines.read.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


def test_a_day_with_open_exceptions_is_not_cleared_until_they_are_worked(own, caplog):
    api, payer = unit_api(own), own.info["payers"][0]
    pay_with_alipay(own, register(api, payer)["payment_code"])
    order = open_order(own, register(api, payer)["payment_code"])
    fault(own, "alipay", "lose_notify", order["order_no"])
    assert scan(own, order["qr_code"]).status_code == 200
    run_day(own, "alipay")
    with pytest.raises(DayNotReconciled, match="未办结"):
        _clear(own)
    assert count(own, clearing_windows) == 0
    assert any("clearing" in r.getMessage() and "未办结" in r.getMessage() for r in caplog.records)
    # the payment is recovered from the workbench and reviewed; the day reconciles
    c = own.container
    [item] = exceptions_for(own, order["order_no"])
    resolve_exception(
        c.uow, c.gateways, item.id, Action.RECOVER, "渠道已付款，补单", actor="li", clock=c.clock
    )
    review_exception(c.uow(), item.id, True, actor="wang", clock=c.clock)
    day = run_day(own, "alipay")
    assert day.status == "reconciled", day.counts


def test_a_failing_treasury_becomes_an_exception_and_a_resend_confirms(own):
    base = own.info["base_url"]
    assert httpx.post(f"{base}/emulator/treasury/faults", json={"mode": "fail"}).status_code == 200
    try:
        failed = _clear(own)
    finally:
        httpx.post(f"{base}/emulator/treasury/faults", json={"mode": "confirm"})
    assert failed.status.value == "failed"
    assert exceptions_for(own, f"CLEARING:{failed.id}:{failed.voucher_no}")
    assert _postings(own, "clearing") == []
    assert _clear(own).status.value == "confirmed"


def test_clearing_splits_instructs_and_the_treasury_confirms(own):
    window = _clear(own)
    assert window.status.value == "confirmed"
    assert window.total_fen == sum(window.by_level.values())
    assert window.total_fen == window.gross_fen - window.refunds_fen
    assert window.fees_fen > 0
    settled = _postings(own, "settlement")
    assert ("collection", window.gross_fen - window.refunds_fen) in settled
    cleared = dict(_postings(own, "clearing"))
    assert cleared["collection"] == -window.total_fen
    base = own.info["base_url"]
    finance = SignedClient(base, own.info["finance"]["app_id"], own.info["finance"]["app_secret"])
    voucher = finance.get(f"/api/v1/clearing/windows/{window.id}/voucher.xml")
    assert voucher.status_code == 200
    assert 'VtCode="5408"' in voucher.text
    assert "<Hold1>" in voucher.text
    again = _clear(own)  # running it again changes nothing
    assert (again.id, again.status) == (window.id, window.status)
    with own.container.engines.read.connect() as conn:
        assert run_checks(conn).ok, run_checks(conn).lines()


def test_a_receipt_for_no_instruction_or_another_amount_is_refused(own, caplog):
    c = own.container
    unknown = (
        b'<MOF><VoucherBody VtCode="5408" VoucherNo="540899999999000001"><Receipt>'
        b"<Result>1</Result><XSumAmt>1.00</XSumAmt><XAcctDate>20261206</XAcctDate>"
        b"</Receipt></VoucherBody></MOF>"
    )
    with pytest.raises(ReceiptRefused, match="没有对应"):
        apply_receipt(c.uow, c.treasury(), unknown, clock=c.clock, actor="test")
    with c.engines.read.connect() as conn:
        window = conn.execute(select(clearing_windows)).first()
    other_amount = unknown.replace(b"540899999999000001", window.voucher_no.encode())
    with pytest.raises(ReceiptRefused, match="不符"):
        apply_receipt(c.uow, c.treasury(), other_amount, clock=c.clock, actor="test")
    with pytest.raises(ReceiptRefused):
        apply_receipt(c.uow, c.treasury(), b"not a receipt", clock=c.clock, actor="test")
    with c.engines.read.connect() as conn:
        assert conn.execute(select(clearing_windows.c.status)).scalar() == "confirmed"
    refused = [r for r in caplog.records if "treasury receipt refused" in r.getMessage()]
    assert len(refused) == 3


def test_the_console_shows_the_window_its_netting_and_the_voucher(own):
    admin = make_user(own, "finance_admin")
    with logged_in(own.info["base_url"], admin) as client:
        listing = client.get("/console/clearing")
        assert listing.status_code == 200
        with own.container.engines.read.connect() as conn:
            window_id = conn.execute(select(clearing_windows.c.id)).scalar()
        page = client.get(f"/console/clearing/{window_id}")
        assert page.status_code == 200
        assert "渠道实际划入汇缴户" in page.text
        assert "国库已确认入库" in page.text
        voucher = client.get(f"/console/clearing/{window_id}/voucher.xml")
        assert voucher.status_code == 200
        assert "<SumAmt>" in voucher.text
        token = csrf_of(listing.text)
        refused = client.post("/console/clearing/run", data={"csrf": token, "day": "2020-01-01"})
        assert refused.status_code == 409
        assert "没有任何渠道的对账结果" in refused.text


def test_the_collection_account_statement_is_the_third_way(own):
    from publicpay.domain.reconciliation import Source
    from publicpay.emulators.bank.statement import Movement, render

    with own.container.uow() as uow:
        record = uow.reconciliation.day(Source.ALIPAY, today())
    with own.container.engines.read.connect() as conn:
        window = conn.execute(select(clearing_windows)).first()
    assert record is not None
    net = record.gross_fen - record.fee_fen
    moves = [
        Movement("B1", f"{today()} 09:30:00", "C", net, "支付宝", f"SETTLE:alipay:{today()}"),
        Movement("B2", f"{today()} 11:00:00", "C", 888, "张三", "汇款"),
        Movement(
            "B3", f"{today()} 16:00:00", "D", window.total_fen, "国库", f"CLEARING:{window.id}"
        ),
    ]
    day = import_file(own, "bank", render(ACCOUNT, today(), moves))
    assert day.counts == {"matched": 2, "unknown_credit": 1}
    assert exceptions_for(own, "B2")[0].match_class == "unknown_credit"
    with pytest.raises(StatementRefused, match="商户"):
        import_file(own, "bank", render("99999", today(), moves))
