"""Payer messages (N3): generated with registrations and payments, sent by a pluggable sender."""
