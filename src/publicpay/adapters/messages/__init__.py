"""Senders of payer messages (N3): the demo log, an HTTP SMS/app-message gateway."""
