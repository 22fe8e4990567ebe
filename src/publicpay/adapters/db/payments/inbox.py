"""Inbox of channel notifications (stored before they are acknowledged) and discrepancies."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select, update

from publicpay.adapters.db.dialects import Dialect, Variant
from publicpay.adapters.db.payments.tables import discrepancies, inbox
from publicpay.adapters.db.sql import Change, Insert, Sql
from publicpay.domain.events import DiscrepancyKind


class StoredRequest(NamedTuple):
    order_no: str
    body: str
    outcome: str | None


_REQUEST = select(inbox.c.order_no, inbox.c.body, inbox.c.outcome).where(
    inbox.c.channel == bindparam("channel"), inbox.c.notify_id == bindparam("notify_id")
)
_MARK = (
    update(inbox)
    .where(inbox.c.channel == bindparam("b_channel"), inbox.c.notify_id == bindparam("b_notify_id"))
    .values(outcome=bindparam("outcome"), processed_at=bindparam("processed_at"))
)


def _record(final: frozenset[str]) -> Variant:
    """Stored with its outcome; a row stored before keeps an outcome that is final. The final
    outcomes are written in the statement as literals (the same few on every call): no
    parameters to expand per call."""
    outcomes: Any = bindparam("final", sorted(final), expanding=True, literal_execute=True)

    def build(dialect: Dialect) -> Any:
        columns = ("channel", "notify_id", "order_no", "body", "received_at", "outcome")
        stmt = dialect.insert(inbox).values(
            {name: bindparam(name) for name in columns}
            | {"processed_at": bindparam("processed_at")}
        )
        return stmt.on_conflict_do_update(
            index_elements=[inbox.c.channel, inbox.c.notify_id],
            set_={"outcome": stmt.excluded.outcome, "processed_at": stmt.excluded.processed_at},
            where=inbox.c.outcome.is_(None) | inbox.c.outcome.not_in(outcomes),
        )

    return Variant(build)


# the upsert per set of final outcomes (one in practice), built once
_RECORDS: dict[frozenset[str], Variant] = {}
_OPEN = select(discrepancies).where(discrepancies.c.status == "open").order_by(discrepancies.c.id)


class InboxRepository:
    """`add` runs at once (its answer is needed); `record` and `mark` are queued."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, channel: str, notify_id: str, order_no: str, body: str, at: datetime) -> bool:
        """Store a verified notification; False when this notify id was stored before."""
        row = {
            "channel": channel,
            "notify_id": notify_id,
            "order_no": order_no,
            "body": body,
            "received_at": at,
        }
        return self._sql.insert(inbox, row, ignore_conflict=True) is not None

    def record(
        self,
        channel: str,
        notify_id: str,
        order_no: str,
        body: str,
        outcome: str,
        at: datetime,
        *,
        final: Collection[str],
    ) -> None:
        """Store a processed notification with its outcome in one write. When the notify id
        was stored before, its outcome is replaced unless it is one of `final`."""
        params = {
            "channel": channel,
            "notify_id": notify_id,
            "order_no": order_no,
            "body": body,
            "received_at": at,
            "outcome": outcome,
            "processed_at": at,
        }
        outcomes = final if isinstance(final, frozenset) else frozenset(final)
        stmt = _RECORDS.get(outcomes)
        if stmt is None:
            stmt = _RECORDS[outcomes] = _record(outcomes)
        self._sql.queue(Change(stmt, params, key=("inbox", channel, notify_id)))

    def outcome(self, channel: str, notify_id: str) -> str | None:
        found = self.request(channel, notify_id)
        return None if found is None else found.outcome

    def request(self, channel: str, notify_id: str) -> StoredRequest | None:
        """The stored message itself (bank counter and cash requests are replayed against it)."""
        row = self._sql.one(_REQUEST, {"channel": channel, "notify_id": notify_id})
        return None if row is None else StoredRequest(row.order_no, row.body, row.outcome)

    def mark(self, channel: str, notify_id: str, outcome: str, at: datetime) -> None:
        params: dict[str, Any] = {"b_channel": channel, "b_notify_id": notify_id}
        params |= {"outcome": outcome, "processed_at": at}
        self._sql.queue(Change(_MARK, params, key=("inbox", channel, notify_id)))


class DiscrepanciesRepository:
    """`add` is queued (once per kind and order: a repeat is ignored)."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(
        self,
        kind: DiscrepancyKind,
        channel: str,
        order_no: str,
        payable_id: int | None,
        amount_fen: int | None,
        detail: dict[str, Any],
        at: datetime,
    ) -> None:
        row = {
            "kind": kind.value,
            "channel": channel,
            "order_no": order_no,
            "payable_id": payable_id,
            "amount_fen": amount_fen,
            "detail": detail,
            "status": "open",
            "created_at": at,
        }
        self._sql.queue(Insert(discrepancies, (row,), ignore_conflict=True))

    def list_open(self) -> list[dict[str, Any]]:
        return [row._asdict() for row in self._sql.all(_OPEN)]
