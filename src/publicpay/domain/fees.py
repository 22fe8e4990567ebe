"""Late-payment surcharge on fines (加处罚款, 《行政处罚法》第七十二条).

Each full day after the due date adds 3 % of the fine; the total never exceeds the fine itself.
Paying on the due date costs nothing; the day after the due date is day 1.

Rounding: the whole surcharge is computed once and rounded down to the fen,
`fine_fen * daily_rate_permille * days // 1000`, then capped at `fine_fen`. Rounding once (not per
day) means the payer is never charged a fen more than the exact rate gives.
"""

from __future__ import annotations

import datetime as dt

DEFAULT_DAILY_RATE_PERMILLE = 30  # 3 % per day
# What the surcharge is called wherever a person reads it (receipt line, PDF, pages, API docs):
# for an administrative fine it is 加处罚款 (行政处罚法 第七十二条), not 滞纳金 (a tax/fee term).
LATE_SURCHARGE_NAME = "加处罚款"


def overdue_days(due_date: dt.date, on_date: dt.date) -> int:
    """Full days after the due date (0 on or before it)."""
    return max(0, (on_date - due_date).days)


def late_fee_fen(
    fine_fen: int,
    due_date: dt.date,
    on_date: dt.date,
    daily_rate_permille: int = DEFAULT_DAILY_RATE_PERMILLE,
) -> int:
    """Surcharge in fen for paying `fine_fen` on `on_date`; capped at the fine itself."""
    if fine_fen < 0:
        raise ValueError(f"fine must not be negative: {fine_fen}")
    if daily_rate_permille < 0:
        raise ValueError(f"daily rate must not be negative: {daily_rate_permille}")
    surcharge = fine_fen * daily_rate_permille * overdue_days(due_date, on_date) // 1000
    return min(surcharge, fine_fen)
