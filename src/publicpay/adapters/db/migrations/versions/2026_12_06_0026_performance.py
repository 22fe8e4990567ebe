"""Hot-path performance (issue 8's last condition): payables leave room on their pages for the
update that marks them paid, and the ledger's balance check runs one query per check.

- A payment updates its payable's status, paid amount, order and version, none of which is
  indexed. PostgreSQL can then write the new row version on the same page without touching the
  payable's five indexes (a HOT update) — but only when the page has room, and pages filled to
  100 % by registrations have none, so a payment added an entry to each index (CPU, WAL, index
  bloat). `fillfactor = 80` keeps a fifth of each new page free; dead versions are pruned when
  the page is next read.
- The deferred balance triggers of migration 0009 (one per journal, one per posting: three per
  payment) each ran `PERFORM ledger_check_journal(id)`, a second PL/pgSQL call through its own
  query. The trigger functions now run the check's query themselves; what they check and the
  error they raise (`ck_ledger_journal_balanced`) are unchanged, and so are the triggers.

SQLite has neither a fill factor nor these functions: nothing to do there.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# the check's query in each trigger function (the journal's id: NEW.id or NEW.journal_id)
CHECK = """CREATE OR REPLACE FUNCTION TRIGGER() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE total bigint; postings int;
    BEGIN
      SELECT coalesce(sum(amount_fen), 0), count(*) INTO total, postings
        FROM ledger_postings WHERE journal_id = JOURNAL;
      IF total <> 0 OR postings < 2 THEN
        RAISE EXCEPTION 'ledger journal % does not balance: % postings summing to % fen',
          JOURNAL, postings, total
          USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_ledger_journal_balanced';
      END IF;
      RETURN NULL;
    END $$"""
UP = [
    "ALTER TABLE payables SET (fillfactor = 80)",
    CHECK.replace("TRIGGER", "ledger_journal_balanced").replace("JOURNAL", "NEW.id"),
    CHECK.replace("TRIGGER", "ledger_posting_balanced").replace("JOURNAL", "NEW.journal_id"),
]
DOWN = [  # migration 0009's functions
    """CREATE OR REPLACE FUNCTION ledger_journal_balanced() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM ledger_check_journal(NEW.id); RETURN NULL; END $$""",
    """CREATE OR REPLACE FUNCTION ledger_posting_balanced() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM ledger_check_journal(NEW.journal_id); RETURN NULL; END $$""",
    "ALTER TABLE payables RESET (fillfactor)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWN:
            op.execute(statement)
