"""How pending payment tallies add up to the statistics' summary rows (the worker's fold), and
the fold service over the in-memory unit of work."""

from __future__ import annotations

from datetime import date

from publicpay.domain.statistics import PaymentTally, summary_changes
from publicpay.services.recording.statistics import fold_statistics
from tests.unit.services_kit import World

DAY = date(2026, 12, 6)
CENTRAL, CITY = "treasury_payable:central", "treasury_payable:city"


def _tally(
    amount: int = 12_000, *, sign: int = 1, hour: int = 9, name: str = "护照"
) -> PaymentTally:
    return PaymentTally(
        day=DAY,
        hour=hour,
        unit_id=1,
        channel="alipay",
        site_id=0,
        window_id=0,
        device_id=0,
        amount_fen=amount,
        items=(("GA01", name, amount),),
        accounts=((CENTRAL, amount // 2), (CITY, amount - amount // 2)),
        sign=sign,
    )


def test_tallies_of_one_hour_item_and_level_add_up_to_one_row_each() -> None:
    changes = summary_changes([_tally(12_000), _tally(3_001)])
    assert changes.hourly == {(DAY, 9, 1, "alipay", 0, 0, 0): (2, 15_001)}
    assert changes.items == {(DAY, 1, "alipay", "GA01"): ("护照", 2, 15_001)}
    assert changes.levels == {
        (DAY, 1, "alipay", CENTRAL): (2, 7_500),
        (DAY, 1, "alipay", CITY): (2, 7_501),
    }


def test_a_payment_and_its_reversal_folded_together_change_nothing() -> None:
    changes = summary_changes([_tally(12_000), _tally(12_000, sign=-1)])
    assert changes.empty


def test_a_reversal_folded_alone_takes_its_payment_back() -> None:
    changes = summary_changes([_tally(12_000, sign=-1)])
    assert changes.hourly == {(DAY, 9, 1, "alipay", 0, 0, 0): (-1, -12_000)}
    assert changes.levels[(DAY, 1, "alipay", CENTRAL)] == (-1, -6_000)


def test_payments_of_different_hours_go_to_different_hourly_rows_but_one_daily_row() -> None:
    changes = summary_changes([_tally(100, hour=9), _tally(200, hour=10, name="护照（新）")])
    assert len(changes.hourly) == 2
    assert changes.items == {(DAY, 1, "alipay", "GA01"): ("护照（新）", 2, 300)}


def test_the_fold_takes_every_pending_tally_once() -> None:
    world = World()
    with world.uow() as uow:
        uow.statistics.tally(_tally(100))
        uow.statistics.tally(_tally(200))
        uow.commit()
    assert fold_statistics(world.uow) == 2
    assert fold_statistics(world.uow) == 0
    assert [t.amount_fen for t in world.tables.folded] == [100, 200]
