"""Refunds: requested by a unit or owed back for a duplicate payment, executed at the channel."""
