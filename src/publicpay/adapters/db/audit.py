"""Append-only audit log. Rows are written without locks on the hot path; the worker seals the
hash chain: each sealed row gets the next `chain_seq` and a hash over the previous row's hash and
its own content, so altering or deleting any sealed row breaks every later hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Index,
    String,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)

from publicpay.adapters.db.dialects import xact_lock
from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Insert, Sql
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

# The auditors' viewer's indexes (by time, user, action, object) hold sealed rows only
# (migration 0033): a row is written with its primary key and its (empty) `chain_seq` entry
# alone, and gets these entries when the worker seals it — the seal updates an indexed column,
# so every index is written again then anyway. Readers find the unsealed rows, the last few
# seconds', by the `chain_seq` index (`IS NULL`): `recorded` below.
SEALED = audit_log.c.chain_seq.is_not(None)
UNSEALED = audit_log.c.chain_seq.is_(None)
VIEWER_INDEXES = tuple(
    Index(
        f"ix_audit_log_{name}",
        audit_log.c[name],
        postgresql_where=SEALED,
        sqlite_where=SEALED,
    )
    for name in ("at", "actor", "action", "target")
)


def recorded(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """Rows meeting `conditions`, sealed (through the viewer's partial indexes) or not yet."""
    return or_(and_(SEALED, *conditions), and_(UNSEALED, *conditions))


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


_LOCK_SEALER = select(xact_lock(_SEAL_LOCK).label("locked"))  # one sealer at a time
_LAST_SEQ = select(func.coalesce(func.max(audit_log.c.chain_seq), 0).label("seq"))
_HASH_AT = select(audit_log.c.hash).where(audit_log.c.chain_seq == bindparam("seq"))
_UNSEALED = select(audit_log).where(UNSEALED).order_by(audit_log.c.id).limit(bindparam("limit"))
_SEAL = (
    update(audit_log)
    .where(audit_log.c.id == bindparam("b_id"))
    .values(chain_seq=bindparam("seq"), prev_hash=bindparam("prev"), hash=bindparam("digest"))
)
_SEALED = select(audit_log).where(audit_log.c.hash.is_not(None)).order_by(audit_log.c.chain_seq)
_UNSEALED_COUNT = select(func.count().label("n")).where(UNSEALED)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The audit chain checked from its first row: how many rows are sealed, how many wait for
    the worker, and the first row whose hash does not follow (None: intact)."""

    sealed: int
    unsealed: int
    first_broken: int | None
    broken: int

    @property
    def intact(self) -> bool:
        return self.first_broken is None

    def as_json(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "sealed": self.sealed,
            "unsealed": self.unsealed,
            "first_broken_id": self.first_broken,
            "broken": self.broken,
        }


class AuditRepository:
    """`append` is queued (the row goes out with the commit); sealing runs at once."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def append(
        self, actor: str, action: str, target: str, detail: dict[str, Any], at: datetime
    ) -> None:
        row = {"at": at, "actor": actor, "action": action, "target": target, "detail": detail}
        self._sql.queue(Insert(audit_log, (row,)))

    def seal(self, limit: int = 1000) -> int:
        """Chain unsealed rows onto the last sealed one; returns how many were sealed."""
        self._sql.one(_LOCK_SEALER)
        seq = int(self._sql.scalar(_LAST_SEQ))
        prev = self._sql.scalar(_HASH_AT, {"seq": seq}) or GENESIS
        rows = self._sql.all(_UNSEALED, {"limit": limit})
        for row in rows:
            seq += 1
            digest = row_hash(prev, row)
            self._sql.run(_SEAL, {"b_id": row.id, "seq": seq, "prev": prev, "digest": digest})
            prev = digest
        return len(rows)

    def verify_chain(self) -> list[int]:
        """Ids of sealed rows whose hash does not follow from the previous one."""
        return self._walk()[1]

    def verify_report(self) -> ChainReport:
        sealed, broken = self._walk()
        unsealed = int(self._sql.scalar(_UNSEALED_COUNT) or 0)
        return ChainReport(sealed, unsealed, broken[0] if broken else None, len(broken))

    def _walk(self) -> tuple[int, list[int]]:
        broken: list[int] = []
        prev = GENESIS
        count = 0
        for expected_seq, row in enumerate(self._sql.all(_SEALED), start=1):
            count = expected_seq
            if (
                row.chain_seq != expected_seq
                or row.prev_hash != prev
                or row.hash != row_hash(prev, row)
            ):
                broken.append(row.id)
            prev = row.hash
        return count, broken
