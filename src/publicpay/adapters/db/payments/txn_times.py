"""UnionPay txnTime per orderId, backed by the database (any process, any restart).

ACP finds a transaction by merId + orderId + the ORIGINAL txnTime, so the UnionPay adapter must
know the txnTime of every orderId it ever sent. `StoredTxnTimes` answers from the rows the
platform already keeps: a payment order's txnTime is its `created_at` (Beijing time, to the
second) and a refund's is its own `created_at`. Because the adapter uses `setdefault` for new
requests, the row's time is also what the first request carries, so a query from another
process (recovery on a worker, a restarted server) sends the same txnTime. Ids with no row (a
撤销's own orderId) are kept in memory, which is enough: nothing queries them later.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, select

from publicpay.adapters.db.payments.tables import payment_orders
from publicpay.adapters.db.refunds import refunds

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
TXN_TIME_FORMAT = "%Y%m%d%H%M%S"


def beijing_txn_time(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(BEIJING).strftime(TXN_TIME_FORMAT)


class StoredTxnTimes(MutableMapping[str, str]):
    """orderId → txnTime: memory first, then payment_orders / refunds by their created_at."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    def __getitem__(self, order_id: str) -> str:
        with self._lock:
            known = self._memory.get(order_id)
        if known is not None:
            return known
        stored = self._from_rows(order_id)
        if stored is None:
            raise KeyError(order_id)
        with self._lock:
            self._memory[order_id] = stored
        return stored

    def __setitem__(self, order_id: str, txn_time: str) -> None:
        with self._lock:
            self._memory[order_id] = txn_time

    def __delitem__(self, order_id: str) -> None:
        with self._lock:
            del self._memory[order_id]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._memory))

    def __len__(self) -> int:
        with self._lock:
            return len(self._memory)

    def _from_rows(self, order_id: str) -> str | None:
        with self._engine.connect() as conn:
            created = conn.execute(
                select(payment_orders.c.created_at).where(payment_orders.c.order_no == order_id)
            ).scalar_one_or_none()
            if created is None:
                created = conn.execute(
                    select(refunds.c.created_at).where(refunds.c.refund_no == order_id)
                ).scalar_one_or_none()
        return beijing_txn_time(created) if created is not None else None
