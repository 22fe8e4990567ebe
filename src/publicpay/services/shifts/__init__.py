"""Cashier shifts (收费员班次, spec W2): open a window's shift, find the open one, close it."""
