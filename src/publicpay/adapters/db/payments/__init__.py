"""Payments' tables (orders, inbox, discrepancies, channel accounts) and their repositories."""
