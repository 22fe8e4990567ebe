"""The database itself refuses to commit a ledger journal that does not balance, and refuses to
change or delete postings and journals: whoever writes the statement, even outside the domain.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from publicpay.adapters.db.ledger import ledger_journals, ledger_postings


@pytest.fixture(scope="module")
def engine(schema_engine: Engine) -> Engine:
    return schema_engine


def _journal(conn: Any, ref: str, amounts: list[int]) -> int:
    journal_id = conn.execute(
        insert(ledger_journals)
        .values(
            kind="correction",
            ref=ref,
            payable_id=None,
            business_date=date(2026, 12, 6),
            created_at=datetime.now(UTC),
        )
        .returning(ledger_journals.c.id)
    ).scalar_one()
    for n, amount in enumerate(amounts):
        conn.execute(
            insert(ledger_postings).values(
                journal_id=journal_id, account=f"account:{n}", amount_fen=amount
            )
        )
    return int(journal_id)


def _journals(engine: Engine, ref: str) -> int:
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(ledger_journals).where(ledger_journals.c.ref == ref)
        return int(conn.execute(stmt).scalar_one())


def test_a_balanced_journal_commits(engine: Engine) -> None:
    with engine.begin() as conn:
        _journal(conn, "balanced", [100, -60, -40])
    assert _journals(engine, "balanced") == 1


@pytest.mark.parametrize(
    ("ref", "amounts"),
    [
        ("off-by-ten", [1000, -900]),
        ("no-postings", []),
        ("one-posting", [0]),
        ("one-sided", [500, 500]),
    ],
)
def test_a_journal_that_does_not_balance_is_refused_at_commit(
    engine: Engine, ref: str, amounts: list[int]
) -> None:
    with pytest.raises(DBAPIError), engine.begin() as conn:
        _journal(conn, ref, amounts)
    assert _journals(engine, ref) == 0


def test_a_posting_added_to_a_committed_journal_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        journal_id = _journal(conn, "closed", [700, -700])
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(
            insert(ledger_postings).values(journal_id=journal_id, account="sneak", amount_fen=1)
        )
    with engine.connect() as conn:
        stmt = select(func.sum(ledger_postings.c.amount_fen)).where(
            ledger_postings.c.journal_id == journal_id
        )
        assert conn.execute(stmt).scalar_one() == 0


@pytest.mark.parametrize("table", [ledger_postings, ledger_journals])
def test_postings_and_journals_cannot_be_updated_or_deleted(engine: Engine, table: Any) -> None:
    with engine.begin() as conn:
        journal_id = _journal(conn, f"kept-{table.name}", [250, -250])
    key = table.c.journal_id if table is ledger_postings else table.c.id
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(
            update(table).where(key == journal_id).values(created_at=datetime.now(UTC))
            if table is ledger_journals
            else update(table).where(key == journal_id).values(amount_fen=1)
        )
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(delete(table).where(key == journal_id))
    with engine.connect() as conn:
        stmt = select(ledger_postings.c.amount_fen).where(
            ledger_postings.c.journal_id == journal_id
        )
        assert sorted(conn.execute(stmt).scalars()) == [-250, 250]


def test_a_posting_to_a_journal_that_does_not_exist_is_refused(engine: Engine) -> None:
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(
            insert(ledger_postings).values(journal_id=987654321, account="ghost", amount_fen=0)
        )
    with engine.connect() as conn:
        stmt = select(func.count()).where(ledger_postings.c.journal_id == 987654321)
        assert conn.execute(stmt).scalar_one() == 0


def test_postings_to_a_new_journal_inside_a_savepoint_commit(engine: Engine) -> None:
    with engine.begin() as conn:
        with conn.begin_nested():
            _journal(conn, "in-savepoint", [300, -300])
    assert _journals(engine, "in-savepoint") == 1


def test_a_journal_of_this_transaction_balanced_by_a_later_statement_commits(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        journal_id = _journal(conn, "two-steps", [900])
        conn.execute(
            insert(ledger_postings).values(journal_id=journal_id, account="later", amount_fen=-900)
        )
    assert _journals(engine, "two-steps") == 1
