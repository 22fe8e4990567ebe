"""Recording what happened: the ledger and the audit trail (a recorder writing ledger, outbox and
audit for domain events is to live here)."""
