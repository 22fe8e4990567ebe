"""Ports of cashier shifts, as Protocols (adapters implement them)."""

from __future__ import annotations

from typing import Protocol

from publicpay.domain.shifts import Shift


class ShiftsRepo(Protocol):
    def add(self, shift: Shift) -> int: ...

    def get(self, shift_id: int, *, lock: bool = False) -> Shift | None: ...

    def open_at_window(self, window_id: int) -> Shift | None: ...

    def open_of_cashier(self, cashier_id: int) -> Shift | None: ...

    def save(self, shift: Shift) -> None: ...
