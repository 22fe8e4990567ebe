"""Inbox of channel notifications (stored before they are acknowledged) and discrepancies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from publicpay.adapters.db.deferred import pg_defer
from publicpay.adapters.db.dialect import insert_ignore, pg_insert_sql
from publicpay.adapters.db.payments.tables import discrepancies, inbox


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
_COLUMNS = ("channel", "notify_id", "order_no", "body", "received_at", "outcome", "processed_at")
# stored with its outcome; a row stored before keeps an outcome that is final
_PG_RECORD = pg_insert_sql(
    "inbox",
    _COLUMNS,
    " ON CONFLICT (channel, notify_id) DO UPDATE SET outcome = excluded.outcome,"
    " processed_at = excluded.processed_at"
    " WHERE inbox.outcome IS NULL OR NOT inbox.outcome = ANY(%s)",
)

_SQLITE_INSERT = sqlite_insert(inbox)
_SQLITE_RECORD = _SQLITE_INSERT.on_conflict_do_update(
    index_elements=[inbox.c.channel, inbox.c.notify_id],
    set_={
        "outcome": _SQLITE_INSERT.excluded.outcome,
        "processed_at": _SQLITE_INSERT.excluded.processed_at,
    },
    where=inbox.c.outcome.is_(None) | inbox.c.outcome.not_in(bindparam("b_final", expanding=True)),
)


class InboxRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, channel: str, notify_id: str, order_no: str, body: str, at: datetime) -> bool:
        """Store a verified notification; False when this notify id was stored before."""
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

    def record(
        self,
        channel: str,
        notify_id: str,
        order_no: str,
        body: str,
        outcome: str,
        at: datetime,
        *,
        final: frozenset[str],
    ) -> None:
        """Store a processed notification with its outcome in one write. When the notify id
        was stored before, its outcome is replaced unless it is one of `final`."""
        values = [channel, notify_id, order_no, body, at, outcome, at]
        if pg_defer(
            self._conn, _PG_RECORD, [*values, sorted(final)], key=("inbox", channel, notify_id)
        ):
            return
        params = {**dict(zip(_COLUMNS, values, strict=True)), "b_final": sorted(final)}
        self._conn.execute(_SQLITE_RECORD, params)

    def outcome(self, channel: str, notify_id: str) -> str | None:
        params = {"b_channel": channel, "b_notify_id": notify_id}
        value = self._conn.execute(_OUTCOME, params).scalar_one_or_none()
        return None if value is None else str(value)

    def request(self, channel: str, notify_id: str) -> StoredRequest | None:
        """The stored message itself (bank counter and cash requests are replayed against it)."""
        stmt = select(inbox.c.order_no, inbox.c.body, inbox.c.outcome).where(
            inbox.c.channel == channel, inbox.c.notify_id == notify_id
        )
        row = self._conn.execute(stmt).first()
        return None if row is None else StoredRequest(row.order_no, row.body, row.outcome)

    def mark(self, channel: str, notify_id: str, outcome: str, at: datetime) -> None:
        key = ("inbox", channel, notify_id)
        if pg_defer(self._conn, _PG_MARK, [outcome, at, channel, notify_id], key=key):
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
