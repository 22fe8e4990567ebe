"""Payables (缴款单): registration one by one and in batches, cancellation."""
