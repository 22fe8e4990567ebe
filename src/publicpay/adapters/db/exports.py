"""Background exports (an export over 100,000 rows): the job — who asked, for what, how far it
got — and the finished file, stored in the database in chunks so that any API process can
serve a file any worker wrote, read back one chunk at a time (flat memory).

A job is claimed by one worker with a conditional update (`pending` → `running`), so many
workers may run the task at once. These are read-side and bookkeeping statements on a plain
connection, like `queries/`: an export changes no business data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from publicpay.adapters.db.metadata import Id, Ts, metadata

export_jobs = Table(
    "export_jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, nullable=False, index=True),  # only its owner downloads it
    Column("kind", String(40), nullable=False),  # "list:payables", "statistics"
    # the query string it was asked with (it may name a payer's ID or phone): sealed
    Column("params_enc", LargeBinary, nullable=False),
    Column("format", String(10), nullable=False),  # csv | xlsx
    Column("title", String(100), nullable=False),
    Column("status", String(20), nullable=False),  # ExportStatus
    Column("total_rows", BigInteger, nullable=False),  # counted when asked (for the progress)
    Column("done_rows", BigInteger, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("error", String(200), nullable=True),
    Column("created_at", Ts, nullable=False),
    Column("finished_at", Ts, nullable=True),
)

export_chunks = Table(
    "export_chunks",
    metadata,
    Column("job_id", Id, ForeignKey("export_jobs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

KEEP = timedelta(days=1)  # a finished file is kept this long


class ExportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ExportStatus.PENDING: "排队中",
    ExportStatus.RUNNING: "正在生成",
    ExportStatus.DONE: "已完成",
    ExportStatus.FAILED: "失败",
}


@dataclass(frozen=True, slots=True)
class ExportJob:
    id: int
    user_id: int
    kind: str
    params_enc: bytes
    format: str
    title: str
    status: ExportStatus
    total_rows: int
    done_rows: int
    size_bytes: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        if self.status is ExportStatus.DONE:
            return 100
        return min(99, self.done_rows * 100 // self.total_rows) if self.total_rows else 0


def _job(row: Any) -> ExportJob:
    return ExportJob(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        params_enc=bytes(row.params_enc),
        format=row.format,
        title=row.title,
        status=ExportStatus(row.status),
        total_rows=int(row.total_rows),
        done_rows=int(row.done_rows),
        size_bytes=int(row.size_bytes),
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def add_job(
    conn: Connection,
    *,
    user_id: int,
    kind: str,
    params_enc: bytes,
    fmt: str,
    title: str,
    total_rows: int,
    at: datetime,
) -> int:
    row = {
        "user_id": user_id,
        "kind": kind,
        "params_enc": params_enc,
        "format": fmt,
        "title": title,
        "status": ExportStatus.PENDING.value,
        "total_rows": total_rows,
        "done_rows": 0,
        "size_bytes": 0,
        "created_at": at,
    }
    result = conn.execute(insert(export_jobs).values(row).returning(export_jobs.c.id))
    return int(result.scalar_one())


def job_of(conn: Connection, job_id: int, user_id: int) -> ExportJob | None:
    """The job, when it is this user's (another user's job is not found)."""
    stmt = select(export_jobs).where(export_jobs.c.id == job_id, export_jobs.c.user_id == user_id)
    row = conn.execute(stmt).first()
    return _job(row) if row is not None else None


def claim_next(engine: Engine, at: datetime) -> ExportJob | None:
    """The oldest pending job, now running for this worker (None when none is left)."""
    with engine.begin() as conn:
        stmt = (
            select(export_jobs.c.id)
            .where(export_jobs.c.status == ExportStatus.PENDING.value)
            .order_by(export_jobs.c.id)
            .limit(5)
        )
        for (job_id,) in conn.execute(stmt).all():
            claimed = conn.execute(
                update(export_jobs)
                .where(
                    export_jobs.c.id == job_id,
                    export_jobs.c.status == ExportStatus.PENDING.value,
                )
                .values(status=ExportStatus.RUNNING.value, finished_at=None)
            )
            if claimed.rowcount == 1:
                row = conn.execute(select(export_jobs).where(export_jobs.c.id == job_id)).one()
                return _job(row)
    return None


def store_chunk(engine: Engine, job_id: int, seq: int, data: bytes, done_rows: int) -> None:
    """One chunk of the file and the progress, in their own transaction."""
    with engine.begin() as conn:
        conn.execute(insert(export_chunks).values(job_id=job_id, seq=seq, data=data))
        conn.execute(
            update(export_jobs)
            .where(export_jobs.c.id == job_id)
            .values(
                done_rows=done_rows,
                size_bytes=export_jobs.c.size_bytes + len(data),
            )
        )


def set_progress(engine: Engine, job_id: int, done_rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(export_jobs).where(export_jobs.c.id == job_id).values(done_rows=done_rows)
        )


def finish(
    engine: Engine, job_id: int, status: ExportStatus, at: datetime, error: str | None = None
) -> None:
    with engine.begin() as conn:
        if status is ExportStatus.FAILED:
            conn.execute(delete(export_chunks).where(export_chunks.c.job_id == job_id))
        conn.execute(
            update(export_jobs)
            .where(export_jobs.c.id == job_id)
            .values(status=status.value, finished_at=at, error=error)
        )


def chunks(engine: Engine, job_id: int) -> Iterator[bytes]:
    """The finished file, one chunk (one short read) at a time."""
    seq = 0
    while True:
        with engine.connect() as conn:
            stmt = select(export_chunks.c.data).where(
                export_chunks.c.job_id == job_id, export_chunks.c.seq == seq
            )
            data = conn.execute(stmt).scalar_one_or_none()
        if data is None:
            return
        yield bytes(data)
        seq += 1


def prune(engine: Engine, before: datetime) -> int:
    """Drop the files of jobs finished before `before` (the jobs stay, as a record)."""
    with engine.begin() as conn:
        old = select(export_jobs.c.id).where(export_jobs.c.finished_at < before)
        dropped = conn.execute(delete(export_chunks).where(export_chunks.c.job_id.in_(old)))
        return int(dropped.rowcount or 0)
