"""Payables' files: the payment notice PDF, batch registration files."""
