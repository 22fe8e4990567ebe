"""Payments: orders and their states, the channels' common language, barcodes, channel merchant
account scopes."""
