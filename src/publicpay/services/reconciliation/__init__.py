"""Reconciliation (对账): statements in, matching, exceptions and their workflow."""
