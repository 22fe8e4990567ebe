"""Payments: payment orders at the channels, aggregate QR, barcode, bank counter and cash
payments, recovery of open orders, channel notifications in, channel merchant accounts."""
