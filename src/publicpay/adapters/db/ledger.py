"""Ledger repository: append-only journals and postings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, func, insert, select

from publicpay.adapters.db.dialect import pg_cursor
from publicpay.adapters.db.tables import ledger_journals, ledger_postings
from publicpay.domain.ledger import Journal, JournalKind, Posting

_INSERT_JOURNAL = insert(ledger_journals)
_INSERT_POSTINGS = insert(ledger_postings)
_PG_POST: dict[int, str] = {}


def _pg_post_sql(postings: int) -> str:
    """The journal and its postings in one statement (a data-modifying CTE)."""
    sql = _PG_POST.get(postings)
    if sql is None:
        sql = (
            "WITH j AS (INSERT INTO ledger_journals (kind, ref, payable_id, business_date,"  # noqa: S608
            " created_at) VALUES (%s, %s, %s, %s, %s) RETURNING id),"
            " p AS (INSERT INTO ledger_postings (journal_id, account, amount_fen)"
            " SELECT j.id, v.account, v.amount_fen FROM j, (VALUES "
            + ", ".join(["(%s, %s::bigint, %s::int)"] * postings)
            + ") AS v(account, amount_fen, n) ORDER BY v.n) SELECT id FROM j"
        )
        _PG_POST[postings] = sql
    return sql


class LedgerRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def post(
        self, journal: Journal, *, payable_id: int | None, business_date: date, at: datetime
    ) -> int:
        cursor = pg_cursor(self._conn)
        if cursor is not None:
            params: list[object] = [journal.kind.value, journal.ref, payable_id, business_date, at]
            for n, p in enumerate(journal.postings):
                params += [p.account, p.amount_fen, n]
            row = cursor.execute(_pg_post_sql(len(journal.postings)), params).fetchone()
            assert row is not None
            return int(row.id)
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
        return journal_id

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
