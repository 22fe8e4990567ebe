"""Ports of the fee catalogue, as Protocols (adapters implement them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol

from publicpay.domain.catalogue import FeeItem, Standard


class CatalogueRepo(Protocol):
    def items(self) -> dict[str, FeeItem]: ...

    def authorised(self, unit_id: int) -> frozenset[str]: ...


# --- administration (issue 10) ---


class CatalogueAdminRepo(CatalogueRepo, Protocol):
    def stored_items(self) -> dict[str, FeeItem]:
        """The items as stored now, read in this transaction (not the process cache)."""
        ...

    def add_item(
        self, item: FeeItem, *, at: datetime | None = None, by: str | None = None
    ) -> None: ...

    def add_standard(
        self, item_code: str, standard: Standard, *, at: datetime, by: str
    ) -> None: ...

    def update_item(self, item: FeeItem) -> None: ...

    def end_standard(self, item_code: str, valid_from: date, valid_to: date) -> None: ...

    def authorise(self, unit_id: int, item_codes: Iterable[str]) -> None: ...

    def stored_grants(self, unit_id: int) -> frozenset[str]: ...

    def revoke(self, unit_id: int, item_code: str) -> bool: ...
