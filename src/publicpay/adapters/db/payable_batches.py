"""Batch registrations (P5): their table, the repository, and the unit of work that carries it.

A batch keeps who sent which file (its SHA-256), the counts and the per-row report; a console
preview also keeps its rows, sealed (they hold ID numbers), until it is confirmed or pruned.

`BatchUnitOfWork` is `SqlUnitOfWork` plus the batches repository and `flush_pending`, kept apart
so that the registration hot path's unit of work stays as it is. A batch queues thousands of
blind writes (events, audit rows) that PostgreSQL sends at commit in one statement; the service
flushes them every so often so that no statement grows past the protocol's 65,535 parameters.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    select,
    update,
)

from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Sql
from publicpay.domain.payable_batches import BatchRecord, BatchReport, RowStatus
from publicpay.domain.time import utc

payable_batches = Table(
    "payable_batches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("unit_id", Id, ForeignKey("units.id"), nullable=False),
    Column("status", String(10), nullable=False),  # dry_run | registered | refused
    Column("source", String(10), nullable=False),  # csv | xlsx | json
    Column("file_name", String(200), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("accept_partial", Boolean, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("accepted_count", Integer, nullable=False),
    Column("existing_count", Integer, nullable=False),
    Column("refused_count", Integer, nullable=False),
    Column("created_count", Integer, nullable=False),  # payables registered by this batch
    Column("amount_fen", BigInteger, nullable=False),  # of the accepted rows
    Column("report", JSON, nullable=False),
    Column("rows_enc", LargeBinary, nullable=True),  # a preview's rows, sealed, until confirmed
    Column("preview_id", Id, ForeignKey("payable_batches.id"), nullable=True),
    Column("actor", String(100), nullable=False),
    Column("created_at", Ts, nullable=False),
    Index("ix_payable_batches_unit_id_created_at", "unit_id", "created_at"),
)


def _values(record: BatchRecord) -> dict[str, Any]:
    report = record.report
    return {
        "status": report.status.value,
        "row_count": len(report.rows),
        "accepted_count": report.count(RowStatus.ACCEPTED),
        "existing_count": report.count(RowStatus.EXISTING),
        "refused_count": report.count(RowStatus.REFUSED),
        "created_count": report.created_count,
        "amount_fen": report.amount_fen,
        "report": report.to_json(),
    }


def record_from_row(row: Any) -> BatchRecord:
    return BatchRecord(
        unit_id=row.unit_id,
        source=row.source,
        file_name=row.file_name,
        file_sha256=row.file_sha256,
        accept_partial=row.accept_partial,
        actor=row.actor,
        created_at=utc(row.created_at),
        report=BatchReport.from_json(row.report),
        preview_id=row.preview_id,
        id=row.id,
        confirmable=row.rows_enc is not None,
    )


_GET = select(payable_batches).where(payable_batches.c.id == bindparam("id"))
_GET_LOCKED = _GET.with_for_update()
_ROWS_OF = select(payable_batches.c.rows_enc).where(payable_batches.c.id == bindparam("id"))
_FORGET_ROWS = (
    update(payable_batches).where(payable_batches.c.id == bindparam("b_id")).values(rows_enc=None)
)
_PRUNE = (
    update(payable_batches)
    .where(
        payable_batches.c.rows_enc.is_not(None), payable_batches.c.created_at < bindparam("before")
    )
    .values(rows_enc=None)
)


class PayableBatchesRepository:
    """Batch records: every statement runs at once."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, record: BatchRecord, rows_enc: bytes | None) -> int:
        row = {
            "unit_id": record.unit_id,
            "source": record.source,
            "file_name": record.file_name,
            "file_sha256": record.file_sha256,
            "accept_partial": record.accept_partial,
            "actor": record.actor,
            "created_at": record.created_at,
            "preview_id": record.preview_id,
            "rows_enc": rows_enc,
            **_values(record),
        }
        return int(self._sql.insert(payable_batches, row).id)

    def finish(self, batch_id: int, record: BatchRecord, rows_enc: bytes | None) -> None:
        values = {**_values(record), "rows_enc": rows_enc}
        self._sql.run(_finish_stmt(tuple(values)), {"b_id": batch_id, **values})

    def get(self, batch_id: int, *, lock: bool = False) -> BatchRecord | None:
        row = self._sql.one(_GET_LOCKED if lock else _GET, {"id": batch_id})
        return None if row is None else record_from_row(row)

    def rows_of(self, batch_id: int) -> bytes | None:
        found = self._sql.scalar(_ROWS_OF, {"id": batch_id})
        return None if found is None else bytes(found)

    def forget_rows(self, batch_id: int) -> None:
        self._sql.run(_FORGET_ROWS, {"b_id": batch_id})

    def prune_previews(self, before: datetime) -> int:
        """Drop the kept rows of previews nobody confirmed (they hold personal data)."""
        return self._sql.run(_PRUNE, {"before": before})


@lru_cache(maxsize=8)
def _finish_stmt(columns: tuple[str, ...]) -> Any:
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    return update(payable_batches).where(payable_batches.c.id == bindparam("b_id")).values(values)
