"""Devices (K2): kiosks and window POS terminals, their heartbeats and status."""
