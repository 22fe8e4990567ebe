"""Reconciliation adapters: strict statement parsers (one module per format) and the columnar
matching engine (Polars)."""
