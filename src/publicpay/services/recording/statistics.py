"""The statistics' summaries brought up to date: the pending tallies the recorder wrote with each
payment's state change, folded in (spec M2; `adapters/db/statistics.py`).

Use case: one transaction. The worker runs it every second and the statistics pages before they
read, so a figure shown always includes every payment committed before the page was asked for.
"""

from __future__ import annotations

from collections.abc import Callable

from publicpay.services.unit_of_work import UnitOfWork


def fold_statistics(new_uow: Callable[[], UnitOfWork]) -> int:
    """Fold every pending tally into the summaries; how many were folded."""
    with new_uow() as uow:
        folded = uow.statistics.fold()
        uow.commit()
    return folded
