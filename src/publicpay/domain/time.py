"""Business dates are Asia/Shanghai; timestamps are stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def business_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def utc(moment: datetime) -> datetime:
    """Make a datetime UTC-aware (naive values read from SQLite are UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local_text(moment: datetime) -> str:
    return utc(moment).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
