"""Stored answers of mutating calls made with an `Idempotency-Key` (Stripe's design: the key
is claimed before the work, the response is kept, a retry gets the same response)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    delete,
    select,
    update,
)

from publicpay.adapters.db.metadata import Ts, metadata
from publicpay.adapters.db.sql import Sql

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


_FIND = select(idempotency_keys).where(
    idempotency_keys.c.scope == bindparam("scope"), idempotency_keys.c.key == bindparam("key")
)
_COMPLETE = (
    update(idempotency_keys)
    .where(
        idempotency_keys.c.scope == bindparam("b_scope"),
        idempotency_keys.c.key == bindparam("b_key"),
    )
    .values(status="done", status_code=bindparam("status_code"), response=bindparam("response"))
)
_RELEASE = delete(idempotency_keys).where(
    idempotency_keys.c.scope == bindparam("scope"), idempotency_keys.c.key == bindparam("key")
)
_PRUNE = delete(idempotency_keys).where(idempotency_keys.c.created_at < bindparam("before"))


class IdempotencyRepository:
    """Every statement runs at once (the key is claimed before the call's work)."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def claim(self, scope: str, key: str, request_hash: str, at: datetime) -> StoredCall | None:
        """None when the key is new (and now ours); otherwise what is stored under it."""
        row = {"scope": scope, "key": key, "request_hash": request_hash, "status": "running",
               "created_at": at}  # fmt: skip
        if self._sql.insert(idempotency_keys, row, ignore_conflict=True) is not None:
            return None
        found = self._sql.one(_FIND, {"scope": scope, "key": key})
        return StoredCall(found.request_hash, found.status, found.status_code, found.response)

    def complete(self, scope: str, key: str, status_code: int, response: bytes) -> None:
        params = {"b_scope": scope, "b_key": key, "status_code": status_code}
        self._sql.run(_COMPLETE, {**params, "response": response})

    def release(self, scope: str, key: str) -> None:
        """The call failed before it did anything: the key may be used again."""
        self._sql.run(_RELEASE, {"scope": scope, "key": key})

    def prune(self, before: datetime) -> int:
        return self._sql.run(_PRUNE, {"before": before})
