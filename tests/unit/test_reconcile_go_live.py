"""The worker's T+1 reconciliation starts with the go-live day (PUBLICPAY_RECONCILE_FROM): the
days before it were paid before the platform reconciled (e.g. the demo's history)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from publicpay.services.reconciliation.reconcile import reconcile_due
from tests.fakes.unit_of_work import FakeClock

NOTHING: Any = None  # the engine and sources: not reached
NOON_DEC_6 = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: statements are out


def _no_uow() -> Any:
    raise AssertionError("a day before the go-live must not be claimed")


def test_a_day_before_the_go_live_is_not_reconciled() -> None:
    ran = reconcile_due(
        _no_uow, NOTHING, NOTHING, clock=FakeClock(NOON_DEC_6), start=date(2026, 12, 6)
    )
    assert ran == 0


def test_the_go_live_day_itself_is_reconciled_the_day_after() -> None:
    claimed: list[Any] = []

    class Claims:
        def __init__(self) -> None:
            self.reconciliation = self

        def claim_day(self, *args: Any) -> bool:
            claimed.append(args[:2])
            return False  # another worker has it: nothing more to do here

        def commit(self) -> None:
            pass

        def __enter__(self) -> Claims:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    factory: Any = Claims
    ran = reconcile_due(
        factory, NOTHING, NOTHING, clock=FakeClock(NOON_DEC_6), start=date(2026, 12, 5)
    )
    assert ran == 0
    assert claimed
    assert {day for _source, day in claimed} == {date(2026, 12, 5)}
