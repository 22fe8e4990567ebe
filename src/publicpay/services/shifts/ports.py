"""Ports of cashier shifts and their deposits, as Protocols (adapters implement them)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from publicpay.domain.shifts import Deposit, Shift


class ShiftsRepo(Protocol):
    def add(self, shift: Shift) -> int: ...

    def get(self, shift_id: int, *, lock: bool = False) -> Shift | None: ...

    def open_at_window(self, window_id: int) -> Shift | None: ...

    def open_of_cashier(self, cashier_id: int) -> Shift | None: ...

    def save(self, shift: Shift) -> None:
        """Queued: status, closing time, the closing count and takings, the confirmation."""
        ...

    def payments(self, shift_id: int) -> list[tuple[str, int]]:
        """(method, amount_fen) of every payment the shift took that still stands."""
        ...


class DepositsRepo(Protocol):
    def add(self, deposit: Deposit) -> int: ...

    def by_no(self, deposit_no: str, *, lock: bool = False) -> Deposit | None: ...

    def of_shift(self, shift_id: int) -> Deposit | None: ...

    def save(self, deposit: Deposit) -> None:
        """Queued: status and the statement line that credited it."""
        ...

    def for_matching(self, on: date, amount_fen: int | None) -> list[Deposit]:
        """Deposits prepared on business day `on` (and of `amount_fen` when given), oldest
        first, whatever their status."""
        ...
