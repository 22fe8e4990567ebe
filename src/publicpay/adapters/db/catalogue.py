"""Catalogue tables and repository: fee items, their standards, unit authorisations
(read-mostly, cached)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    String,
    Table,
    bindparam,
    delete,
    select,
    update,
)

from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Sql
from publicpay.domain.catalogue import (
    BudgetLevel,
    Category,
    Destination,
    FeeItem,
    LevelShare,
    Split,
    Standard,
    StandardKind,
)

fee_items = Table(
    "fee_items",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("category", String(20), nullable=False),
    Column("budget_subject", String(20), nullable=False),
    Column("destination", String(20), nullable=False),
    Column("unit_of_measure", String(20), nullable=False),
    Column("legal_basis", String(300), nullable=False, default=""),
    Column("split", JSON, nullable=False),  # [{"level", "weight", "fixed_fen"}]
    Column("valid_from", Date, nullable=True),
    Column("valid_to", Date, nullable=True),
)

fee_standards = Table(
    "fee_standards",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_code", String(20), ForeignKey("fee_items.code"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("amount_fen", BigInteger, nullable=True),
    Column("min_fen", BigInteger, nullable=True),
    Column("max_fen", BigInteger, nullable=True),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("basis", String(300), nullable=False, default=""),
    Column("created_at", Ts, nullable=True),  # the standards' history (migration 0013)
    Column("created_by", String(100), nullable=True),
)

unit_items = Table(
    "unit_items",
    metadata,
    Column("unit_id", Id, ForeignKey("units.id"), primary_key=True),
    Column("item_code", String(20), ForeignKey("fee_items.code"), primary_key=True),
)


def split_to_json(split: Split) -> list[dict[str, Any]]:
    return [
        {"level": s.level.value, "weight": s.weight, "fixed_fen": s.fixed_fen} for s in split.shares
    ]


def split_from_json(data: Iterable[dict[str, Any]]) -> Split:
    return Split(
        tuple(
            LevelShare(BudgetLevel(d["level"]), int(d.get("weight") or 0), d.get("fixed_fen"))
            for d in data
        )
    )


class CatalogueCache:
    """Process-wide cache of the catalogue; entries expire after `ttl_s` (edits show up soon)."""

    def __init__(self, ttl_s: float = 30.0) -> None:
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._items: dict[str, FeeItem] = {}
        self._authorised: dict[int, frozenset[str]] = {}
        self._loaded_at = 0.0

    def fresh(self) -> bool:
        return time.monotonic() - self._loaded_at < self._ttl

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = 0.0

    def load(self, sql: Sql) -> None:
        items = _load_items(sql)
        authorised: dict[int, set[str]] = {}
        for row in sql.all(_GRANTS):
            authorised.setdefault(row.unit_id, set()).add(row.item_code)
        with self._lock:
            self._items = items
            self._authorised = {k: frozenset(v) for k, v in authorised.items()}
            self._loaded_at = time.monotonic()

    def items(self) -> dict[str, FeeItem]:
        return self._items

    def authorised(self, unit_id: int) -> frozenset[str]:
        return self._authorised.get(unit_id, frozenset())


_GRANTS = select(unit_items.c.unit_id, unit_items.c.item_code)
_STANDARDS = select(fee_standards).order_by(fee_standards.c.valid_from)
_ITEMS = select(fee_items)
_GRANTS_OF = select(unit_items.c.item_code).where(unit_items.c.unit_id == bindparam("unit_id"))
_END_STANDARD = (
    update(fee_standards)
    .where(
        fee_standards.c.item_code == bindparam("b_code"),
        fee_standards.c.valid_from == bindparam("b_from"),
    )
    .values(valid_to=bindparam("valid_to"))
)
_UPDATE_ITEM = (
    update(fee_items)
    .where(fee_items.c.code == bindparam("b_code"))
    .values(
        name=bindparam("name"),
        category=bindparam("category"),
        budget_subject=bindparam("budget_subject"),
        destination=bindparam("destination"),
        unit_of_measure=bindparam("unit_of_measure"),
        legal_basis=bindparam("legal_basis"),
        split=bindparam("split", type_=JSON),
    )
)
_REVOKE = delete(unit_items).where(
    unit_items.c.unit_id == bindparam("unit_id"), unit_items.c.item_code == bindparam("item_code")
)


def _load_items(sql: Sql) -> dict[str, FeeItem]:
    standards: dict[str, list[Standard]] = {}
    for row in sql.all(_STANDARDS):
        standards.setdefault(row.item_code, []).append(
            Standard(
                kind=StandardKind(row.kind),
                valid_from=row.valid_from,
                valid_to=row.valid_to,
                amount_fen=row.amount_fen,
                min_fen=row.min_fen,
                max_fen=row.max_fen,
                basis=row.basis,
            )
        )
    result: dict[str, FeeItem] = {}
    for row in sql.all(_ITEMS):
        result[row.code] = FeeItem(
            code=row.code,
            name=row.name,
            category=Category(row.category),
            budget_subject=row.budget_subject,
            destination=Destination(row.destination),
            unit_of_measure=row.unit_of_measure,
            split=split_from_json(row.split),
            standards=tuple(standards.get(row.code, [])),
            legal_basis=row.legal_basis,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
        )
    return result


class CatalogueRepository:
    """Reads come from the process-wide cache (reloaded when stale); edits run at once."""

    def __init__(self, sql: Sql, cache: CatalogueCache) -> None:
        self._sql = sql
        self._cache = cache

    def _ensure(self) -> None:
        if not self._cache.fresh():
            self._cache.load(self._sql)

    def items(self) -> dict[str, FeeItem]:
        self._ensure()
        return self._cache.items()

    def authorised(self, unit_id: int) -> frozenset[str]:
        self._ensure()
        return self._cache.authorised(unit_id)

    def stored_items(self) -> dict[str, FeeItem]:
        """The items as stored now, read in this transaction (for edits)."""
        return _load_items(self._sql)

    def add_item(self, item: FeeItem, *, at: datetime | None = None, by: str | None = None) -> None:
        row = {
            "code": item.code,
            "name": item.name,
            "category": item.category.value,
            "budget_subject": item.budget_subject,
            "destination": item.destination.value,
            "unit_of_measure": item.unit_of_measure,
            "legal_basis": item.legal_basis,
            "split": split_to_json(item.split),
            "valid_from": item.valid_from,
            "valid_to": item.valid_to,
        }
        self._sql.insert(fee_items, row)
        for standard in item.standards:
            self._insert_standard(item.code, standard, at, by)
        self._cache.invalidate()

    def update_item(self, item: FeeItem) -> None:
        """An item's attributes and split (its standards are kept: they change by history)."""
        params = {
            "b_code": item.code,
            "name": item.name,
            "category": item.category.value,
            "budget_subject": item.budget_subject,
            "destination": item.destination.value,
            "unit_of_measure": item.unit_of_measure,
            "legal_basis": item.legal_basis,
            "split": split_to_json(item.split),
        }
        self._sql.run(_UPDATE_ITEM, params)
        self._cache.invalidate()

    def add_standard(self, item_code: str, standard: Standard, *, at: datetime, by: str) -> None:
        self._insert_standard(item_code, standard, at, by)
        self._cache.invalidate()

    def _insert_standard(
        self, item_code: str, standard: Standard, at: datetime | None, by: str | None
    ) -> None:
        row = {
            "item_code": item_code,
            "kind": standard.kind.value,
            "amount_fen": standard.amount_fen,
            "min_fen": standard.min_fen,
            "max_fen": standard.max_fen,
            "valid_from": standard.valid_from,
            "valid_to": standard.valid_to,
            "basis": standard.basis,
            "created_at": at,
            "created_by": by,
        }
        self._sql.insert(fee_standards, row)

    def end_standard(self, item_code: str, valid_from: date, valid_to: date) -> None:
        """Give the standard of `item_code` starting on `valid_from` its last day."""
        params = {"b_code": item_code, "b_from": valid_from, "valid_to": valid_to}
        self._sql.run(_END_STANDARD, params)
        self._cache.invalidate()

    def stored_grants(self, unit_id: int) -> frozenset[str]:
        """The unit's authorised items as stored now (not the process cache)."""
        return frozenset(r.item_code for r in self._sql.all(_GRANTS_OF, {"unit_id": unit_id}))

    def revoke(self, unit_id: int, item_code: str) -> bool:
        done = self._sql.run(_REVOKE, {"unit_id": unit_id, "item_code": item_code}) == 1
        self._cache.invalidate()
        return done

    def authorise(self, unit_id: int, item_codes: Iterable[str]) -> None:
        for code in item_codes:
            self._sql.insert(unit_items, {"unit_id": unit_id, "item_code": code})
        self._cache.invalidate()
