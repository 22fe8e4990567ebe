"""Hot-path performance (issue 8): the ledger keeps its guarantee with one cheap check per posting
instead of a deferred balance check and a foreign-key check per posting (PostgreSQL only).

Migration 0009 made every posting fire a deferred constraint trigger re-checking its journal's
balance at COMMIT, so that a posting added later to an already committed journal was caught; and
`ledger_postings.journal_id` had a foreign key, a referential-integrity query (with a KEY SHARE
lock) per posting. A journal of two postings cost 186,000 backend instructions in these checks
(a transaction writing one, counted under callgrind), a payment's journal among them.

Now:
- each journal remembers the transaction that wrote it (`ledger_journals.created_tx`, default
  `txid_current()`, the top-level transaction even inside a savepoint);
- a row trigger on `ledger_postings` refuses a posting whose journal does not exist or was
  written by another transaction (`ck_ledger_posting_journal`), with one index lookup (an AFTER
  trigger: it runs when the statement ends, and sees a journal written by the same statement);
- the journal's own deferred constraint trigger (0009, one per journal) still checks its balance
  at COMMIT, after every posting of the transaction.

So a posting can only join a journal written in its own transaction, which is checked at COMMIT:
the same guarantee as before, and the foreign key's (a posting's journal exists; journals are
never deleted) too, for 89,000 instead of 186,000 (measured as above; a statement-level trigger
over a transition table was tried and cost more than before: 237,000). SQLite keeps 0009's
triggers and its foreign key (in-process, cheap).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_ledger_postings_journal_id_ledger_journals"

UP = [
    # existing journals are all committed: 0 is no transaction's id
    "ALTER TABLE ledger_journals ADD COLUMN created_tx bigint NOT NULL DEFAULT 0",
    "ALTER TABLE ledger_journals ALTER COLUMN created_tx SET DEFAULT txid_current()",
    """CREATE FUNCTION ledger_posting_joins_own_journal() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM ledger_journals
                     WHERE id = NEW.journal_id AND created_tx = txid_current()) THEN
        RAISE EXCEPTION 'ck_ledger_posting_journal: a posting may only join a journal written '
          'in its own transaction (journal %)', NEW.journal_id
          USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_posting_journal';
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER ledger_postings_own_journal AFTER INSERT ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_joins_own_journal()""",
    "DROP TRIGGER ledger_postings_balanced ON ledger_postings",
    f"ALTER TABLE ledger_postings DROP CONSTRAINT {FOREIGN_KEY}",
]
DOWN = [
    f"""ALTER TABLE ledger_postings ADD CONSTRAINT {FOREIGN_KEY}
    FOREIGN KEY (journal_id) REFERENCES ledger_journals (id)""",
    """CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced()""",
    "DROP TRIGGER ledger_postings_own_journal ON ledger_postings",
    "DROP FUNCTION ledger_posting_joins_own_journal()",
    "ALTER TABLE ledger_journals DROP COLUMN created_tx",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWN:
            op.execute(statement)
