"""Ports of the fee catalogue, as Protocols (adapters implement them)."""

from __future__ import annotations

from typing import Protocol

from publicpay.domain.catalogue import FeeItem


class CatalogueRepo(Protocol):
    def items(self) -> dict[str, FeeItem]: ...

    def authorised(self, unit_id: int) -> frozenset[str]: ...
