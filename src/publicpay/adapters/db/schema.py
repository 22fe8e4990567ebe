"""The whole database schema: every area module's tables, on the one `metadata`.

Each area module defines its tables on `metadata.metadata` when it is imported. This is the one
explicit list of them, for what needs every table: Alembic (`migrations/env.py`), creating and
checking test databases. Nothing else imports it.
"""

from __future__ import annotations

from types import ModuleType

from publicpay.adapters.db import (
    alerts,
    attributes,
    audit,
    catalogue,
    devices,
    events,
    exports,
    idempotency,
    ledger,
    messages,
    payable_batches,
    payables,
    refunds,
    shifts,
    statistics,
    units,
    users,
)
from publicpay.adapters.db.metadata import metadata
from publicpay.adapters.db.payments import carts
from publicpay.adapters.db.payments import tables as payments
from publicpay.adapters.db.receipts import tables as receipts
from publicpay.adapters.db.reconciliation import tables as reconciliation

AREAS: tuple[ModuleType, ...] = (
    units,
    devices,
    catalogue,
    payables,
    payable_batches,
    payments,
    carts,  # issue 13
    receipts,
    refunds,
    shifts,
    events,
    ledger,
    audit,
    users,
    idempotency,
    statistics,  # issue 10: the statistics index
    exports,  # issue 10: background export jobs
    alerts,  # issue 10: supervision alerts
    reconciliation,  # issue 12
    messages,  # portal and POS (issue 13)
    attributes,
)

__all__ = ["AREAS", "metadata"]
