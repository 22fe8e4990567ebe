"""Ledger tables and repository: append-only journals and postings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    ForeignKey,
    String,
    Table,
    func,
    insert,
    select,
)

from publicpay.adapters.db.deferred import pg_defer_ctes
from publicpay.adapters.db.metadata import Id, Ts, metadata
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


_INSERT_JOURNAL = insert(ledger_journals)
_INSERT_POSTINGS = insert(ledger_postings)
_PG_POST: dict[int, str] = {}


def _pg_post_ctes(postings: int) -> str:
    """The journal and its postings as deferred CTEs (see deferred.pg_defer_ctes)."""
    sql = _PG_POST.get(postings)
    if sql is None:
        sql = (
            "{w}j AS (INSERT INTO ledger_journals (kind, ref, payable_id, business_date,"  # noqa: S608
            " created_at) VALUES (%s, %s, %s, %s, %s) RETURNING id),"
            " {w} AS (INSERT INTO ledger_postings (journal_id, account, amount_fen)"
            " SELECT {w}j.id, v.account, v.amount_fen FROM {w}j, (VALUES "
            + ", ".join(["(%s, %s::bigint, %s::int)"] * postings)
            + ") AS v(account, amount_fen, n) ORDER BY v.n)"
        )
        _PG_POST[postings] = sql
    return sql


class LedgerRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def post(
        self, journal: Journal, *, payable_id: int | None, business_date: date, at: datetime
    ) -> None:
        """Append a journal; on PostgreSQL a blind write sent with the transaction's next
        statement or commit."""
        params: list[object] = [journal.kind.value, journal.ref, payable_id, business_date, at]
        for n, p in enumerate(journal.postings):
            params += [p.account, p.amount_fen, n]
        if pg_defer_ctes(self._conn, _pg_post_ctes(len(journal.postings)), params):
            return
        result = self._conn.execute(
            _INSERT_JOURNAL,
            {
                "kind": journal.kind.value,
                "ref": journal.ref,
                "payable_id": payable_id,
                "business_date": business_date,
                "created_at": at,
            },
        )
        journal_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        self._conn.execute(
            _INSERT_POSTINGS,
            [
                {"journal_id": journal_id, "account": p.account, "amount_fen": p.amount_fen}
                for p in journal.postings
            ],
        )

    def balances(self) -> dict[str, int]:
        stmt = select(ledger_postings.c.account, func.sum(ledger_postings.c.amount_fen)).group_by(
            ledger_postings.c.account
        )
        return {account: int(total) for account, total in self._conn.execute(stmt)}

    def journal(self, kind: JournalKind, ref: str) -> Journal | None:
        """The first journal of `kind` for `ref`, as posted."""
        stmt = (
            select(ledger_journals.c.id)
            .where(ledger_journals.c.kind == kind.value, ledger_journals.c.ref == ref)
            .order_by(ledger_journals.c.id)
            .limit(1)
        )
        journal_id = self._conn.execute(stmt).scalar_one_or_none()
        if journal_id is None:
            return None
        rows = self._conn.execute(
            select(ledger_postings.c.account, ledger_postings.c.amount_fen)
            .where(ledger_postings.c.journal_id == journal_id)
            .order_by(ledger_postings.c.id)
        )
        return Journal(kind, ref, tuple(Posting(r.account, int(r.amount_fen)) for r in rows))
