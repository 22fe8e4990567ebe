"""Alembic environment: the URL comes from the caller (publicpay migrate / tests)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from publicpay.adapters.db.schema import metadata

# SQLite's ledger guard (migration 0009) keeps two tables of its own, outside the models
GUARD_TABLES = frozenset({"ledger_never", "ledger_unbalanced"})
# PostgreSQL's (migration 0029): the transaction that wrote a journal, filled by the database,
# and no foreign key from postings to journals (its trigger checks more than the key did)
GUARD_PARTS = frozenset(
    {
        ("column", "created_tx"),
        ("foreign_key_constraint", "fk_ledger_postings_journal_id_ledger_journals"),
    }
)


def include_object(obj: object, name: str | None, type_: str, *_: object) -> bool:
    return not (type_ == "table" and name in GUARD_TABLES) and (type_, name) not in GUARD_PARTS


url = context.config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url must be set"

with create_engine(url).connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
