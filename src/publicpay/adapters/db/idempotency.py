"""Stored answers of mutating calls made with an `Idempotency-Key` (Stripe's design: the key
is claimed before the work, the response is kept, a retry gets the same response)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    select,
    update,
)

from publicpay.adapters.db.dialect import insert_ignore
from publicpay.adapters.db.metadata import Ts, metadata

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(80), primary_key=True),  # who may reuse the key (client, payable)
    Column("key", String(255), primary_key=True),  # the caller's Idempotency-Key
    Column("request_hash", String(64), nullable=False),
    Column("status", String(10), nullable=False),  # running | done
    Column("status_code", Integer, nullable=True),
    Column("response", LargeBinary, nullable=True),
    Column("created_at", Ts, nullable=False, index=True),
)


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
        if insert_ignore(self._conn, idempotency_keys, row):
            return None
        found = self._conn.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
            )
        ).one()
        return StoredCall(found.request_hash, found.status, found.status_code, found.response)

    def complete(self, scope: str, key: str, status_code: int, response: bytes) -> None:
        self._conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
            .values(status="done", status_code=status_code, response=response)
        )

    def release(self, scope: str, key: str) -> None:
        """The call failed before it did anything: the key may be used again."""
        self._conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
            )
        )

    def prune(self, before: datetime) -> int:
        return int(
            self._conn.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < before)
            ).rowcount
        )
