"""Reconciliation and clearing: tables and repository."""
