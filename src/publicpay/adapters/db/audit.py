"""Append-only audit log. Rows are written without locks; the worker seals the hash chain in id
order, so tampering with any sealed row (or deleting one) breaks every later hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from publicpay.adapters.db.tables import audit_log
from publicpay.domain.time import utc

GENESIS = "0" * 64


def row_hash(prev_hash: str, row: Any) -> str:
    material = json.dumps(
        [prev_hash, row.id, utc(row.at).isoformat(), row.actor, row.action, row.target, row.detail],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def append(
        self, actor: str, action: str, target: str, detail: dict[str, Any], at: datetime
    ) -> None:
        self._conn.execute(
            insert(audit_log).values(
                at=at, actor=actor, action=action, target=target, detail=detail
            )
        )

    def seal(self, limit: int = 1000) -> int:
        """Chain unsealed rows onto the last sealed one; returns how many were sealed."""
        last = self._conn.execute(
            select(audit_log.c.hash)
            .where(audit_log.c.hash.is_not(None))
            .order_by(audit_log.c.id.desc())
            .limit(1)
            .with_for_update()
        ).scalar_one_or_none()
        prev = last or GENESIS
        rows = list(
            self._conn.execute(
                select(audit_log)
                .where(audit_log.c.hash.is_(None))
                .order_by(audit_log.c.id)
                .limit(limit)
            )
        )
        for row in rows:
            digest = row_hash(prev, row)
            self._conn.execute(
                update(audit_log)
                .where(audit_log.c.id == row.id)
                .values(prev_hash=prev, hash=digest)
            )
            prev = digest
        return len(rows)

    def verify_chain(self) -> list[int]:
        """Ids of sealed rows whose hash does not follow from the previous one."""
        broken: list[int] = []
        prev = GENESIS
        stmt = select(audit_log).where(audit_log.c.hash.is_not(None)).order_by(audit_log.c.id)
        for row in self._conn.execute(stmt):
            if row.prev_hash != prev or row.hash != row_hash(prev, row):
                broken.append(row.id)
            prev = row.hash
        return broken
