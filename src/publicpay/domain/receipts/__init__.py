"""Fiscal e-receipts (财政电子票据): numbering, lifecycle and face; the stored records."""
