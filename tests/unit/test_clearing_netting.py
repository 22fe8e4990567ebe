"""Refunds paid by bank transfer netted in clearing (the rule in the clearing service, on
fakes): the next window opened after a refund's debit matched takes it back from what it sends,
by budget level exact to the fen like a channel's refund, shows it apart, and nets each refund
once; one that would make a window send less than nothing waits for a later one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from publicpay.adapters.reconciliation.clearing_split import ColumnarSplitter
from publicpay.domain.catalogue import BudgetLevel, LevelShare, Split
from publicpay.domain.clearing import ClearingLine, Window
from publicpay.domain.payables import PayableLine
from publicpay.domain.reconciliation import DayStatus, Source
from publicpay.services.reconciliation.clearing import open_window, transfers_to_net
from tests.unit.services_kit import fixed

DAY = date(2026, 12, 1)
ONE_TO_TWO = Split(
    (LevelShare(BudgetLevel.PROVINCE, weight=1), LevelShare(BudgetLevel.COUNTY, weight=2))
)
ITEM = fixed("T0001", 1001, ONE_TO_TWO)
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


def _payment(pid: int, paid_fen: int = 1001) -> SimpleNamespace:
    return SimpleNamespace(id=pid, payment_code=f"P{pid:019d}", unit_name="单位", paid_fen=paid_fen)


def _refund(pid: int, refund_id: int, fen: int, kind: str = "refund") -> SimpleNamespace:
    return SimpleNamespace(
        **vars(_payment(pid)),
        refund_fen=fen,
        refund_kind=kind,
        refund_id=refund_id,
        refunded_before=0,
    )


class _Clearing:
    """What `open_window` asks of the clearing repository; netted refunds are remembered."""

    def __init__(self, paid: dict[date, list[Any]], transfers: list[Any]) -> None:
        self.paid, self.transfers = paid, transfers
        self.windows: dict[date, Window] = {}
        self.lines: dict[date, list[ClearingLine]] = {}
        self.netted: dict[int, int] = {}  # refund id -> window id

    def window(self, day: date, account: str) -> Window | None:
        return self.windows.get(day)

    def paid_on(self, day: date) -> list[Any]:
        return self.paid.get(day, [])

    def refunded_on(self, day: date) -> list[Any]:
        return []

    def transfer_refunds_to_net(self) -> list[Any]:
        return [r for r in self.transfers if r.refund_id not in self.netted]

    def payable_lines(self, ids: list[int]) -> dict[int, list[PayableLine]]:
        return {i: [PayableLine(ITEM.code, "x", "件", 1, 1001, 1001)] for i in ids}

    def add_window(self, window: Window, lines: Any, netted: Any = ()) -> int:
        window.id = len(self.windows) + 1
        self.windows[window.business_day] = window
        self.lines[window.business_day] = list(lines)
        for r in netted:
            assert r.refund_id not in self.netted  # the table's unique refund
            self.netted[r.refund_id] = window.id
        return window.id


class _Uow:
    def __init__(self, clearing: _Clearing) -> None:
        self.clearing = clearing
        record = SimpleNamespace(status=DayStatus.RECONCILED.value, gross_fen=0, fee_fen=0)
        self.reconciliation = SimpleNamespace(
            day=lambda source, day: record if source is Source.COUNTER else None,
            exceptions_of_day=lambda source, day: [],
        )
        self.catalogue = SimpleNamespace(items=lambda: {ITEM.code: ITEM})

    def __enter__(self) -> _Uow:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        return None


def test_a_matched_transfer_refund_is_netted_by_level_exact_to_the_fen():
    clearing = _Clearing({DAY: [_payment(1), _payment(2)]}, [_refund(9, 70, 500)])
    for splitter in (None, ColumnarSplitter()):
        clearing.windows.clear()
        clearing.netted.clear()
        window, _ = open_window(_Uow(clearing), DAY, "acct", clock=_Clock(), splitter=splitter)
        assert (window.gross_fen, window.refunds_fen, window.transfer_refunds_fen) == (2002, 0, 500)
        assert window.total_fen == 1502
        # each payment: province 333, county 668; the refund of 500: province 166, county 334
        assert window.by_level == {"county": 668 * 2 - 334, "province": 333 * 2 - 166}
        taken = [line for line in clearing.lines[DAY] if line.amount_fen < 0]
        assert [(line.level, line.amount_fen) for line in taken] == [
            (BudgetLevel.PROVINCE, -166),
            (BudgetLevel.COUNTY, -334),
        ]
        assert taken[0].payment_code == f"P{9:019d}"  # the refunded payment's code
        assert sum(line.amount_fen for line in clearing.lines[DAY]) == window.total_fen
        assert clearing.netted == {70: window.id}


def test_a_refund_netted_by_one_window_is_not_netted_again_by_the_next():
    clearing = _Clearing(
        {DAY: [_payment(1)], date(2026, 12, 2): [_payment(2)]}, [_refund(9, 70, 300)]
    )
    first, _ = open_window(_Uow(clearing), DAY, "acct", clock=_Clock())
    clearing.transfers.append(_refund(8, 71, 200))  # matched after the first window was opened
    second, _ = open_window(_Uow(clearing), date(2026, 12, 2), "acct", clock=_Clock())
    assert (first.transfer_refunds_fen, first.total_fen) == (300, 701)
    assert (second.transfer_refunds_fen, second.total_fen) == (200, 801)
    assert clearing.netted == {70: first.id, 71: second.id}
    again, _ = open_window(_Uow(clearing), DAY, "acct", clock=_Clock())  # found, not made again
    assert again is first
    assert clearing.netted == {70: first.id, 71: second.id}


def test_a_refund_that_would_leave_the_window_below_zero_waits_and_a_duplicate_is_never_netted():
    transfers = [
        _refund(7, 60, 900),
        _refund(8, 61, 200),
        _refund(9, 62, 50, kind="duplicate"),
        _refund(6, 63, 100),
    ]
    assert [r.refund_id for r in transfers_to_net(1000, transfers)] == [60, 63]
    assert transfers_to_net(0, transfers) == []
    clearing = _Clearing({DAY: [_payment(1)]}, transfers)
    window, _ = open_window(_Uow(clearing), DAY, "acct", clock=_Clock())
    assert (window.transfer_refunds_fen, window.total_fen) == (1000, 1)  # 900 + 100 fit in 1001
    assert sorted(clearing.transfer_refunds_to_net(), key=lambda r: r.refund_id) == [
        transfers[1],
        transfers[2],
    ]
