"""Per-client allowance of unauthenticated receipt lookups (a token bucket per client).

Each client (its address as the server sees it: run behind the load balancer with proxy headers
trusted, e.g. uvicorn `--proxy-headers --forwarded-allow-ips`, so this is the caller and not the
balancer) may make `burst` lookups at once, refilled at `per_minute`. The allowance lives in the
process: with N API processes a client gets up to N times as much, which still stops walking
sequential numbers at any useful speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from publicpay.domain.errors import DomainError


class LookupsLimited(DomainError):
    code = "receipt_lookups_limited"
    title = "查询过于频繁"


class LookupLimiter:
    def __init__(
        self,
        burst: int = 20,
        per_minute: float = 20.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        """Spend one lookup of `client`'s allowance; LookupsLimited when none is left."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise LookupsLimited(f"匿名查询票据过于频繁，请 {wait:.0f} 秒后重试，或提供校验码")
            if len(self._buckets) >= self.max_clients and client not in self._buckets:
                self._forget_full(now)
            self._buckets[client] = (tokens - 1.0, now)

    def _forget_full(self, now: float) -> None:
        """Drop the clients whose allowance has refilled (they are as if never seen)."""
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for key in full or list(self._buckets)[: self.max_clients // 10]:
            del self._buckets[key]
