"""Events: the event log (outbox) units read, and its delivery to their webhook endpoints."""
