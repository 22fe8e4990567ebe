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
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    insert,
    select,
    update,
)

from publicpay.adapters.db.deferred import pg_flush
from publicpay.adapters.db.dialect import for_update
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.unit_of_work import SqlUnitOfWork
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


class PayableBatchesRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: BatchRecord, rows_enc: bytes | None) -> int:
        values = {
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
        stmt = insert(payable_batches).values(values).returning(payable_batches.c.id)
        return int(self._conn.execute(stmt).scalar_one())

    def finish(self, batch_id: int, record: BatchRecord, rows_enc: bytes | None) -> None:
        values = {**_values(record), "rows_enc": rows_enc}
        self._conn.execute(
            update(payable_batches).where(payable_batches.c.id == batch_id).values(values)
        )

    def get(self, batch_id: int, *, lock: bool = False) -> BatchRecord | None:
        stmt = select(payable_batches).where(payable_batches.c.id == batch_id)
        row = self._conn.execute(for_update(stmt) if lock else stmt).first()
        return None if row is None else record_from_row(row)

    def rows_of(self, batch_id: int) -> bytes | None:
        stmt = select(payable_batches.c.rows_enc).where(payable_batches.c.id == batch_id)
        found = self._conn.execute(stmt).scalar_one_or_none()
        return None if found is None else bytes(found)

    def forget_rows(self, batch_id: int) -> None:
        self._conn.execute(
            update(payable_batches).where(payable_batches.c.id == batch_id).values(rows_enc=None)
        )

    def prune_previews(self, before: datetime) -> int:
        """Drop the kept rows of previews nobody confirmed (they hold personal data)."""
        stmt = (
            update(payable_batches)
            .where(payable_batches.c.rows_enc.is_not(None), payable_batches.c.created_at < before)
            .values(rows_enc=None)
        )
        return int(self._conn.execute(stmt).rowcount)


class BatchUnitOfWork(SqlUnitOfWork):
    """The unit of work of batch registrations (see the module docstring)."""

    batches: PayableBatchesRepository

    def _attach(self, conn: Connection) -> None:
        super()._attach(conn)
        self.batches = PayableBatchesRepository(conn)

    def flush_pending(self) -> None:
        pg_flush(self.connection)
