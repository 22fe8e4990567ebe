"""Stored answers of mutating calls made with an `Idempotency-Key` (Stripe's design: the key
is claimed before the work, the response is kept, a retry gets the same response)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from publicpay.adapters.db.dialect import insert_ignore
from publicpay.adapters.db.tables import idempotency_keys as keys


@dataclass(frozen=True, slots=True)
class StoredCall:
    request_hash: str
    status: str  # running | done
    status_code: int | None
    response: bytes | None


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, scope: str, key: str, request_hash: str, at: datetime) -> StoredCall | None:
        """None when the key is new (and now ours); otherwise what is stored under it."""
        row = {"scope": scope, "key": key, "request_hash": request_hash, "status": "running",
               "created_at": at}  # fmt: skip
        if insert_ignore(self._conn, keys, row):
            return None
        found = self._conn.execute(
            select(keys).where(keys.c.scope == scope, keys.c.key == key)
        ).one()
        return StoredCall(found.request_hash, found.status, found.status_code, found.response)

    def complete(self, scope: str, key: str, status_code: int, response: bytes) -> None:
        self._conn.execute(
            update(keys)
            .where(keys.c.scope == scope, keys.c.key == key)
            .values(status="done", status_code=status_code, response=response)
        )

    def release(self, scope: str, key: str) -> None:
        """The call failed before it did anything: the key may be used again."""
        self._conn.execute(delete(keys).where(keys.c.scope == scope, keys.c.key == key))

    def prune(self, before: datetime) -> int:
        return int(self._conn.execute(delete(keys).where(keys.c.created_at < before)).rowcount)
