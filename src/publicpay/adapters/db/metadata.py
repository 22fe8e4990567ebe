"""The `MetaData` every table is defined on (with its naming convention) and the column types
the tables share. Money columns are BIGINT `*_fen`; timestamps are UTC.

Each area's tables are defined in its own module, next to its repository; `schema.py` imports
them all where the whole schema is needed (Alembic, test databases)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrement needs INTEGER


class UtcTimestamp(TypeDecorator[datetime]):
    """A timestamp stored in UTC: aware values are converted before they are bound. SQLite
    keeps the wall-clock text of whatever offset it is given and compares text, so a bound in
    Asia/Shanghai (a business day's midnight) would otherwise be 8 hours off."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def bind_processor(self, dialect: Any) -> Any:
        """None on PostgreSQL: psycopg sends an aware datetime as `timestamptz` (the instant,
        whatever its offset) and a naive one as it is, exactly what the conversion would have
        sent, so the per-value call is saved. SQLite converts (see above)."""
        if dialect.name == "postgresql":
            return None
        return super().bind_processor(dialect)


Ts = UtcTimestamp()
