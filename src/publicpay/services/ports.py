"""Ports every area shares: the clock and the secret box, as Protocols (adapters implement them).

Each area's repositories and gateways are in its own `ports.py` (`services/<area>/ports.py`); the
unit of work is in `unit_of_work.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class Box(Protocol):
    def seal_text(self, text: str, context: bytes = b"") -> bytes: ...

    def open_text(self, sealed: bytes, context: bytes = b"") -> str: ...

    def lookup_hash(self, text: str) -> str: ...

    def subkey(self, purpose: str) -> bytes:
        """A key derived from the platform secret for one purpose (e.g. payment code serials)."""
        ...
