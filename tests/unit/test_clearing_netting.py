"""Refunds paid by bank transfer netted in clearing (the rule in the clearing service, on
fakes): the next window opened after a refund's debit matched takes it back from what it sends,
by budget level exact to the fen like a channel's refund, shows it apart, and nets each refund
once; one that would make a window send less than nothing waits for a later one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from publicpay.adapters.reconciliation.clearing_split import ColumnarSplitter
from publicpay.domain.catalogue import BudgetLevel, Destination, LevelShare, Split
from publicpay.domain.clearing import ClearingLine, Window, hold_below_zero
from publicpay.domain.payables import PayableLine
from publicpay.domain.reconciliation import DayStatus, Source
from publicpay.services.reconciliation.clearing import open_window, transfers_to_net
from tests.unit.services_kit import fixed

DAY = date(2026, 12, 1)
ONE_TO_TWO = Split(
    (LevelShare(BudgetLevel.PROVINCE, weight=1), LevelShare(BudgetLevel.COUNTY, weight=2))
)
ITEM = fixed("T0001", 1001, ONE_TO_TWO)
COUNTY_ITEM = fixed("T0002", 2000)  # all to the county
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
        self.holds: list[SimpleNamespace] = []  # clearing_holds rows
        self.lines_of: dict[int, list[PayableLine]] = {}  # a payable's lines, else ITEM's

    def window(self, day: date, account: str) -> Window | None:
        return self.windows.get(day)

    def paid_on(self, day: date) -> list[Any]:
        return self.paid.get(day, [])

    def refunded_on(self, day: date) -> list[Any]:
        return []

    def transfer_refunds_to_net(self) -> list[Any]:
        return [r for r in self.transfers if r.refund_id not in self.netted]

    def payable_lines(self, ids: list[int]) -> dict[int, list[PayableLine]]:
        default = [PayableLine(ITEM.code, "x", "件", 1, 1001, 1001)]
        return {i: self.lines_of.get(i, default) for i in ids}

    def holds_to_take(self) -> list[Any]:
        return [h for h in self.holds if h.taken_by is None]

    def add_window(
        self,
        window: Window,
        lines: Any,
        netted: Any = (),
        *,
        taken: Any = (),
        held: Any = (),
        reason: str = "",
    ) -> int:
        window.id = len(self.windows) + 1
        self.windows[window.business_day] = window
        self.lines[window.business_day] = list(lines)
        for r in netted:
            assert r.refund_id not in self.netted  # the table's unique refund
            self.netted[r.refund_id] = window.id
        for h in self.holds:
            if h.id in taken:
                assert h.taken_by is None  # taken back once only
                h.taken_by = window.id
        for line in held:
            row = SimpleNamespace(id=len(self.holds) + 1, window_id=window.id, taken_by=None)
            self.holds.append(SimpleNamespace(**vars(row), **line._asdict(), reason=reason))
        return window.id


class _Uow:
    def __init__(self, clearing: _Clearing) -> None:
        self.clearing = clearing
        record = SimpleNamespace(status=DayStatus.RECONCILED.value, gross_fen=0, fee_fen=0)
        self.reconciliation = SimpleNamespace(
            day=lambda source, day: record if source is Source.COUNTER else None,
            exceptions_of_day=lambda source, day: [],
        )
        self.catalogue = SimpleNamespace(
            items=lambda: {ITEM.code: ITEM, COUNTY_ITEM.code: COUNTY_ITEM}
        )

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


@pytest.mark.parametrize("splitter", [None, ColumnarSplitter()])
def test_what_a_level_cannot_take_back_is_held_and_the_next_window_takes_it_back_first(splitter):
    """Day 1 clears a payment 333 province / 668 county; its full refund, paid by transfer, is
    netted on day 2, whose only payment is all county: province would be sent −333. The window
    sends province nothing and holds the 333 (the collection account advances it); day 3 has
    a county payment only, so the hold is carried again; day 4's payment of the item takes it
    back first. Every level is sent exactly what the ledger keeps, over the four windows."""
    days = [date(2026, 12, d) for d in (1, 2, 3, 4)]
    paid = {days[0]: [_payment(1)], days[1]: [_payment(2, 2000)], days[2]: [_payment(3, 2000)]}
    paid[days[3]] = [_payment(4)]
    clearing = _Clearing(paid, [])
    clearing.lines_of = {
        i: [PayableLine(COUNTY_ITEM.code, "x", "件", 1, 2000, 2000)] for i in (2, 3)
    }
    clock = _Clock()
    first, _ = open_window(_Uow(clearing), days[0], "acct", clock=clock, splitter=splitter)
    clearing.transfers.append(_refund(1, 70, 1001))  # its debit matched after window 1
    second, _ = open_window(_Uow(clearing), days[1], "acct", clock=clock, splitter=splitter)
    assert second.by_level == {"county": 2000 - 668}  # no province line: not −333
    assert (second.transfer_refunds_fen, second.held_fen, second.carried_fen) == (1001, 333, 0)
    assert second.total_fen == 2000 - 1001 + 333 == sum(second.by_level.values())
    assert sum(line.amount_fen for line in clearing.lines[days[1]]) == second.total_fen
    [hold] = clearing.holds
    assert (hold.payment_code, hold.level, hold.amount_fen) == (
        f"P{1:019d}",
        BudgetLevel.PROVINCE,
        -333,
    )
    assert "结转下一清算窗口" in hold.reason
    third, _ = open_window(_Uow(clearing), days[2], "acct", clock=clock, splitter=splitter)
    assert (third.by_level, third.held_fen, third.carried_fen) == ({"county": 2000}, 333, 333)
    assert hold.taken_by == third.id
    [again] = clearing.holds_to_take()
    assert (again.window_id, again.amount_fen) == (third.id, -333)
    fourth, _ = open_window(_Uow(clearing), days[3], "acct", clock=clock, splitter=splitter)
    assert (fourth.by_level, fourth.held_fen, fourth.carried_fen) == ({"county": 668}, 0, 333)
    assert clearing.holds_to_take() == []
    carried = [line for line in clearing.lines[days[3]] if line.amount_fen < 0]
    assert [(line.payment_code, line.amount_fen) for line in carried] == [(f"P{1:019d}", -333)]
    sent: dict[str, int] = {}
    for window in (first, second, third, fourth):
        assert all(fen >= 0 for fen in window.by_level.values())
        for key, fen in window.by_level.items():
            sent[key] = sent.get(key, 0) + fen
    # the ledger: payments 1 and 4 (333 / 668 each), 2 and 3 (county 2000 each), refund of 1
    assert sent == {"province": 333, "county": 668 + 2000 + 2000}


def test_a_level_below_zero_holds_its_refund_lines_from_the_last_back_and_a_line_in_part():
    def line(code: str, level: BudgetLevel, fen: int) -> ClearingLine:
        return ClearingLine(code, "103", level, Destination.TREASURY, fen, "单位")

    city, county = BudgetLevel.CITY, BudgetLevel.COUNTY
    lines = [
        line("A", city, 100),
        line("B", city, -80),
        line("C", county, 50),
        line("D", city, -70),
    ]
    sent, held = hold_below_zero(lines, {"city": -50, "county": 50})
    assert held == [line("D", city, -50)]  # the last refund line first, in part
    assert sent == [
        line("A", city, 100),
        line("B", city, -80),
        line("C", county, 50),
        line("D", city, -20),
    ]
    unchanged, none = hold_below_zero(lines, {"city": 0, "county": 50})
    assert (unchanged, none) == (lines, [])
    sent, held = hold_below_zero(lines, {"city": -120, "county": 50})
    assert held == [line("B", city, -50), line("D", city, -70)]
    assert sent == [line("A", city, 100), line("B", city, -30), line("C", county, 50)]
