"""The unit of work of reconciliation and clearing: the platform's, with their repository."""

from __future__ import annotations

from typing import Protocol

from publicpay.services.reconciliation.ports import ClearingRepo, ReconciliationRepo
from publicpay.services.unit_of_work import UnitOfWork


class ReconUnitOfWork(UnitOfWork, Protocol):
    @property
    def reconciliation(self) -> ReconciliationRepo: ...

    @property
    def clearing(self) -> ClearingRepo: ...

    def __enter__(self) -> ReconUnitOfWork: ...
