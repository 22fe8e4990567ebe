"""Ledger tables and repository: append-only journals and postings.

The database guards the books itself (migrations 0009 and 0029): a journal whose postings do
not sum to zero, or that has fewer than two, cannot be committed (a deferred constraint trigger
on PostgreSQL, with a statement trigger refusing postings to a journal of another transaction;
on SQLite a trigger-kept list of unbalanced journals with a deferred foreign key that can never
be satisfied), and postings and journals cannot be updated or deleted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, ForeignKey, String, Table, bindparam, func, select

from publicpay.adapters.db.metadata import Id, Ts, metadata
from publicpay.adapters.db.sql import Insert, Sql
from publicpay.domain.ledger import Journal, JournalKind, Posting

ledger_journals = Table(
    "ledger_journals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(30), nullable=False),
    Column("ref", String(64), nullable=False, index=True),
    Column("payable_id", Id, nullable=True, index=True),
    Column("business_date", Date, nullable=False),
    Column("created_at", Ts, nullable=False),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("journal_id", Id, ForeignKey("ledger_journals.id"), nullable=False, index=True),
    Column("account", String(60), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
)


_BALANCES = select(
    ledger_postings.c.account, func.sum(ledger_postings.c.amount_fen).label("total")
).group_by(ledger_postings.c.account)
_FIRST_JOURNAL = (
    select(ledger_journals.c.id)
    .where(ledger_journals.c.kind == bindparam("kind"), ledger_journals.c.ref == bindparam("ref"))
    .order_by(ledger_journals.c.id)
    .limit(1)
)
_POSTINGS = (
    select(ledger_postings.c.account, ledger_postings.c.amount_fen)
    .where(ledger_postings.c.journal_id == bindparam("journal_id"))
    .order_by(ledger_postings.c.id)
)


class LedgerRepository:
    """`post` is queued: the journal and its postings go out with the commit."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def post(
        self, journal: Journal, *, payable_id: int | None, business_date: date, at: datetime
    ) -> None:
        row = {
            "kind": journal.kind.value,
            "ref": journal.ref,
            "payable_id": payable_id,
            "business_date": business_date,
            "created_at": at,
        }
        postings = tuple(
            {"account": p.account, "amount_fen": p.amount_fen} for p in journal.postings
        )
        self._sql.queue(
            Insert(
                ledger_journals,
                (row,),
                children=Insert(ledger_postings, postings),
                children_key="journal_id",
            )
        )

    def balances(self) -> dict[str, int]:
        return {row.account: int(row.total) for row in self._sql.all(_BALANCES)}

    def journal(self, kind: JournalKind, ref: str) -> Journal | None:
        """The first journal of `kind` for `ref`, as posted."""
        journal_id = self._sql.scalar(_FIRST_JOURNAL, {"kind": kind.value, "ref": ref})
        if journal_id is None:
            return None
        rows = self._sql.all(_POSTINGS, {"journal_id": journal_id})
        return Journal(kind, ref, tuple(Posting(r.account, int(r.amount_fen)) for r in rows))
