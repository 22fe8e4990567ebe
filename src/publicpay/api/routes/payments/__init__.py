"""Payments routes: the payer's orders and aggregate codes, barcode, bank counter and cash
payments, channel notifications."""
