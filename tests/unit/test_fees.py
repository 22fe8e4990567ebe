import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publicpay.domain.fees import late_fee_fen, overdue_days

DUE = dt.date(2026, 3, 31)


def days_after_due(days: int) -> dt.date:
    return DUE + dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("on_date", "fee"),
    [
        (dt.date(2026, 3, 1), 0),
        (DUE, 0),
        (dt.date(2026, 4, 1), 600),  # the day after the due date is day 1: 3 % of 200.00
        (dt.date(2026, 4, 10), 6_000),
        (dt.date(2026, 5, 3), 19_800),  # day 33 = 99 %
        (dt.date(2026, 5, 4), 20_000),  # day 34 = 102 %, capped at the fine
        (dt.date(2027, 3, 31), 20_000),
    ],
)
def test_late_fee_is_three_percent_per_day_capped_at_the_fine(on_date: dt.date, fee: int) -> None:
    assert late_fee_fen(20_000, DUE, on_date) == fee


def test_late_fee_rounds_the_total_down_once() -> None:
    # 3 % of 0.33 yuan is 0.99 fen a day: 0 after one day, 1 after two days (1.98 fen).
    assert late_fee_fen(33, DUE, days_after_due(1)) == 0
    assert late_fee_fen(33, DUE, days_after_due(2)) == 1
    assert late_fee_fen(33, DUE, days_after_due(34)) == 33


def test_late_fee_counts_days_across_month_and_leap_day() -> None:
    assert overdue_days(dt.date(2028, 2, 28), dt.date(2028, 3, 1)) == 2
    assert late_fee_fen(10_000, dt.date(2028, 2, 28), dt.date(2028, 3, 1)) == 600


def test_other_daily_rates_and_zero_fine() -> None:
    assert late_fee_fen(10_000, DUE, days_after_due(3), daily_rate_permille=5) == 150
    assert late_fee_fen(10_000, DUE, days_after_due(3), daily_rate_permille=0) == 0
    assert late_fee_fen(0, DUE, days_after_due(3)) == 0


@pytest.mark.parametrize(("fine", "rate"), [(-1, 30), (100, -1)])
def test_negative_fine_or_rate_is_refused(fine: int, rate: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        late_fee_fen(fine, DUE, days_after_due(1), daily_rate_permille=rate)


@given(st.integers(0, 10**12), st.integers(-30, 400))
def test_late_fee_never_exceeds_the_fine_and_grows_with_time(fine: int, days: int) -> None:
    fee = late_fee_fen(fine, DUE, days_after_due(days))
    assert 0 <= fee <= fine
    assert fee <= late_fee_fen(fine, DUE, days_after_due(days + 1))
    assert fee == min(fine, fine * 3 * max(days, 0) // 100)
