"""The database guards the books: a ledger journal that does not balance (postings summing to
anything but zero, or fewer than two) cannot be committed, and journals and postings cannot be
updated or deleted — whoever writes the statement.

PostgreSQL: a deferred constraint trigger checks each journal touched by the transaction at
COMMIT; BEFORE UPDATE/DELETE/TRUNCATE triggers refuse changes.

SQLite has no deferred triggers. Triggers keep, in `ledger_unbalanced`, every journal whose
postings do not balance yet (with their running total and count); each row there points, through
a DEFERRABLE INITIALLY DEFERRED foreign key, at `ledger_never`, which stays empty — so COMMIT
fails while any journal is unbalanced. (Foreign keys are on: engine.py.) A later migration that
rebuilds a ledger table on SQLite (batch mode) must create these triggers again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REFUSE = "the ledger is append-only"

POSTGRESQL_UP = [
    """CREATE FUNCTION ledger_check_journal(journal bigint) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE total bigint; postings int;
    BEGIN
      SELECT coalesce(sum(amount_fen), 0), count(*) INTO total, postings
        FROM ledger_postings WHERE journal_id = journal;
      IF total <> 0 OR postings < 2 THEN
        RAISE EXCEPTION 'ledger journal % does not balance: % postings summing to % fen',
          journal, postings, total
          USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_journal_balanced';
      END IF;
    END $$""",
    """CREATE FUNCTION ledger_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM ledger_check_journal(NEW.id); RETURN NULL; END $$""",
    """CREATE FUNCTION ledger_posting_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM ledger_check_journal(NEW.journal_id); RETURN NULL; END $$""",
    """CREATE CONSTRAINT TRIGGER ledger_journals_balanced AFTER INSERT ON ledger_journals
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_journal_balanced()""",
    """CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced()""",
    f"""CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '{REFUSE}: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
    END $$""",
    *[
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        for table in ("ledger_journals", "ledger_postings")
    ],
    *[
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
        for table in ("ledger_journals", "ledger_postings")
    ],
]
POSTGRESQL_DOWN = [
    *[
        f"DROP TRIGGER IF EXISTS {trigger} ON {table}"
        for table in ("ledger_journals", "ledger_postings")
        for trigger in (f"{table}_no_truncate", f"{table}_append_only", f"{table}_balanced")
    ],
    "DROP FUNCTION IF EXISTS ledger_append_only()",
    "DROP FUNCTION IF EXISTS ledger_posting_balanced()",
    "DROP FUNCTION IF EXISTS ledger_journal_balanced()",
    "DROP FUNCTION IF EXISTS ledger_check_journal(bigint)",
]

SQLITE_UP = [
    "CREATE TABLE ledger_never (id INTEGER PRIMARY KEY)",
    """CREATE TABLE ledger_unbalanced (
      journal_id INTEGER PRIMARY KEY,
      total_fen INTEGER NOT NULL DEFAULT 0,
      postings INTEGER NOT NULL DEFAULT 0,
      never_id INTEGER NOT NULL DEFAULT 0
        REFERENCES ledger_never (id) DEFERRABLE INITIALLY DEFERRED)""",
    """CREATE TRIGGER ledger_journals_balanced AFTER INSERT ON ledger_journals BEGIN
      INSERT INTO ledger_unbalanced (journal_id) VALUES (NEW.id);
    END""",
    """CREATE TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings BEGIN
      INSERT INTO ledger_unbalanced (journal_id) VALUES (NEW.journal_id) ON CONFLICT DO NOTHING;
      UPDATE ledger_unbalanced
        SET total_fen = total_fen + NEW.amount_fen, postings = postings + 1
        WHERE journal_id = NEW.journal_id;
      DELETE FROM ledger_unbalanced
        WHERE journal_id = NEW.journal_id AND total_fen = 0 AND postings >= 2;
    END""",
    *[
        f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
        f" BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END"
        for table in ("ledger_journals", "ledger_postings")
        for action in ("UPDATE", "DELETE")
    ],
]
SQLITE_DOWN = [
    *[
        f"DROP TRIGGER IF EXISTS {trigger}"
        for table in ("ledger_journals", "ledger_postings")
        for trigger in (f"{table}_balanced", f"{table}_no_update", f"{table}_no_delete")
    ],
    "DROP TABLE IF EXISTS ledger_unbalanced",
    "DROP TABLE IF EXISTS ledger_never",
]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_UP if postgresql else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DOWN if postgresql else SQLITE_DOWN:
        op.execute(statement)
