from datetime import UTC, date, datetime

from publicpay.services.receipts.stock import period_bounds


def test_business_dates_become_utc_instants_from_shanghai_midnight() -> None:
    start, end = period_bounds(date(2026, 12, 6), date(2026, 12, 6))
    assert (start, end) == (
        datetime(2026, 12, 5, 16, tzinfo=UTC),
        datetime(2026, 12, 6, 16, tzinfo=UTC),
    )
    assert start.tzinfo is UTC
    assert end.tzinfo is UTC
