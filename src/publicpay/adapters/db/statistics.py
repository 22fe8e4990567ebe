"""Statistics, exports and alerts (issue 10): their tables, and the index the statistics read
payments by."""

from __future__ import annotations

from sqlalchemy import Index

from publicpay.adapters.db.payments.tables import payment_orders

# Statistics read succeeded payments by the time they were paid.
PAID_INDEX = Index(
    "ix_payment_orders_status_paid_at", payment_orders.c.status, payment_orders.c.paid_at
)
