"""Inbox of channel notifications (stored before they are acknowledged) and discrepancies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from publicpay.adapters.db.dialect import insert_ignore, pg_defer, pg_flush
from publicpay.adapters.db.tables import discrepancies, inbox


class StoredRequest(NamedTuple):
    order_no: str
    body: str
    outcome: str | None


_MARK = update(inbox).where(
    inbox.c.channel == bindparam("b_channel"), inbox.c.notify_id == bindparam("b_notify_id")
)
_OUTCOME = select(inbox.c.outcome).where(
    inbox.c.channel == bindparam("b_channel"), inbox.c.notify_id == bindparam("b_notify_id")
)
_PG_MARK = "UPDATE inbox SET outcome = %s, processed_at = %s WHERE channel = %s AND notify_id = %s"


class InboxRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, channel: str, notify_id: str, order_no: str, body: str, at: datetime) -> bool:
        """Store a verified notification; False when this notify id was stored before."""
        pg_flush(self._conn)  # reads see this transaction's queued writes
        return insert_ignore(
            self._conn,
            inbox,
            {
                "channel": channel,
                "notify_id": notify_id,
                "order_no": order_no,
                "body": body,
                "received_at": at,
            },
        )

    def outcome(self, channel: str, notify_id: str) -> str | None:
        pg_flush(self._conn)  # reads see this transaction's queued writes
        params = {"b_channel": channel, "b_notify_id": notify_id}
        value = self._conn.execute(_OUTCOME, params).scalar_one_or_none()
        return None if value is None else str(value)

    def request(self, channel: str, notify_id: str) -> StoredRequest | None:
        pg_flush(self._conn)  # reads see this transaction's queued writes
        """The stored message itself (bank counter and cash requests are replayed against it)."""
        stmt = select(inbox.c.order_no, inbox.c.body, inbox.c.outcome).where(
            inbox.c.channel == channel, inbox.c.notify_id == notify_id
        )
        row = self._conn.execute(stmt).first()
        return None if row is None else StoredRequest(row.order_no, row.body, row.outcome)

    def mark(self, channel: str, notify_id: str, outcome: str, at: datetime) -> None:
        if pg_defer(self._conn, _PG_MARK, [outcome, at, channel, notify_id]):
            return
        self._conn.execute(
            _MARK,
            {
                "b_channel": channel,
                "b_notify_id": notify_id,
                "outcome": outcome,
                "processed_at": at,
            },
        )


class DiscrepanciesRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        kind: str,
        channel: str,
        order_no: str,
        payable_id: int | None,
        amount_fen: int | None,
        detail: dict[str, Any],
        at: datetime,
    ) -> bool:
        """Record once per (kind, order); False when already recorded."""
        return insert_ignore(
            self._conn,
            discrepancies,
            {
                "kind": kind,
                "channel": channel,
                "order_no": order_no,
                "payable_id": payable_id,
                "amount_fen": amount_fen,
                "detail": detail,
                "status": "open",
                "created_at": at,
            },
        )

    def list_open(self) -> list[dict[str, Any]]:
        stmt = select(discrepancies).where(discrepancies.c.status == "open")
        return [dict(row._mapping) for row in self._conn.execute(stmt.order_by(discrepancies.c.id))]
