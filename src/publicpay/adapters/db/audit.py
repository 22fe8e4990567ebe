"""Append-only audit log. Rows are written without locks on the hot path; the worker seals the
hash chain: each sealed row gets the next `chain_seq` and a hash over the previous row's hash and
its own content, so altering or deleting any sealed row breaks every later hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    String,
    Table,
    func,
    insert,
    select,
    text,
    update,
)

from publicpay.adapters.db.deferred import pg_defer
from publicpay.adapters.db.dialect import pg_insert_sql, pg_values
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.domain.time import utc

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Ts, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(60), nullable=False),
    Column("target", String(100), nullable=False),
    Column("detail", JSON, nullable=False),
    # The hash chain is sealed by the worker (no hot row on the write path). Rows may commit out
    # of id order, so the chain follows `chain_seq`, the order in which rows were sealed.
    Column("chain_seq", BigInteger, nullable=True, unique=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
)


GENESIS = "0" * 64
_SEAL_LOCK = 7_221_001  # PostgreSQL advisory lock id: one sealer at a time


def row_hash(prev_hash: str, row: Any) -> str:
    material = json.dumps(
        [prev_hash, row.id, utc(row.at).isoformat(), row.actor, row.action, row.target, row.detail],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()


_INSERT = insert(audit_log)


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def append(
        self, actor: str, action: str, target: str, detail: dict[str, Any], at: datetime
    ) -> None:
        row = {"at": at, "actor": actor, "action": action, "target": target, "detail": detail}
        if not pg_defer(self._conn, pg_insert_sql("audit_log", tuple(row)), pg_values(row)):
            self._conn.execute(_INSERT, row)

    def seal(self, limit: int = 1000) -> int:
        """Chain unsealed rows onto the last sealed one; returns how many were sealed."""
        if self._conn.dialect.name == "postgresql":
            self._conn.execute(text(f"SELECT pg_advisory_xact_lock({_SEAL_LOCK})"))
        seq = int(
            self._conn.execute(
                select(func.coalesce(func.max(audit_log.c.chain_seq), 0))
            ).scalar_one()
        )
        prev = (
            self._conn.execute(
                select(audit_log.c.hash).where(audit_log.c.chain_seq == seq)
            ).scalar_one_or_none()
            or GENESIS
        )
        rows = list(
            self._conn.execute(
                select(audit_log)
                .where(audit_log.c.hash.is_(None))
                .order_by(audit_log.c.id)
                .limit(limit)
            )
        )
        for row in rows:
            seq += 1
            digest = row_hash(prev, row)
            self._conn.execute(
                update(audit_log)
                .where(audit_log.c.id == row.id)
                .values(chain_seq=seq, prev_hash=prev, hash=digest)
            )
            prev = digest
        return len(rows)

    def verify_chain(self) -> list[int]:
        """Ids of sealed rows whose hash does not follow from the previous one."""
        broken: list[int] = []
        prev = GENESIS
        stmt = (
            select(audit_log).where(audit_log.c.hash.is_not(None)).order_by(audit_log.c.chain_seq)
        )
        for expected_seq, row in enumerate(self._conn.execute(stmt), start=1):
            if (
                row.chain_seq != expected_seq
                or row.prev_hash != prev
                or row.hash != row_hash(prev, row)
            ):
                broken.append(row.id)
            prev = row.hash
        return broken
