"""Fiscal e-receipts (财政电子票据): issuing, building and signing, access, number stock."""
