"""E-receipts' tables and their repository."""
