"""Alembic environment: the URL comes from the caller (publicpay migrate / tests)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from publicpay.adapters.db.schema import metadata

url = context.config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url must be set"

with create_engine(url).connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
