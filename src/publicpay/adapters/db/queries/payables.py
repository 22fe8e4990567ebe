"""Read side of batch registrations: one batch with its report, and recent batches of units."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from publicpay.adapters.db.payable_batches import PayableBatchesRepository
from publicpay.adapters.db.payable_batches import payable_batches as batches
from publicpay.domain.payable_batches import BatchRecord, BatchStatus
from publicpay.domain.time import utc


@dataclass(frozen=True, slots=True)
class BatchSummary:
    id: int
    unit_id: int
    status: BatchStatus
    file_name: str
    row_count: int
    accepted_count: int
    existing_count: int
    refused_count: int
    created_count: int
    amount_fen: int
    actor: str
    created_at: datetime
    confirmable: bool


def load_batch(conn: Connection, batch_id: int) -> BatchRecord | None:
    return PayableBatchesRepository(conn).get(batch_id)


def recent_batches(conn: Connection, unit_ids: Collection[int], limit: int) -> list[BatchSummary]:
    """The latest batches of the given units, newest first (without their reports)."""
    if not unit_ids:
        return []
    stmt = (
        select(
            *(c for c in batches.c if c.name not in ("report", "rows_enc")),
            batches.c.rows_enc.is_not(None).label("confirmable"),
        )
        .where(batches.c.unit_id.in_(list(unit_ids)))
        .order_by(batches.c.id.desc())
        .limit(limit)
    )
    return [
        BatchSummary(
            id=r.id,
            unit_id=r.unit_id,
            status=BatchStatus(r.status),
            file_name=r.file_name,
            row_count=r.row_count,
            accepted_count=r.accepted_count,
            existing_count=r.existing_count,
            refused_count=r.refused_count,
            created_count=r.created_count,
            amount_fen=r.amount_fen,
            actor=r.actor,
            created_at=utc(r.created_at),
            confirmable=bool(r.confirmable),
        )
        for r in conn.execute(stmt)
    ]
