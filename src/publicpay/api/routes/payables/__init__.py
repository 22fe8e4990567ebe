"""Payables routes: registration one by one and in batches."""
