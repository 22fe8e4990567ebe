"""Token buckets per caller, in the process: signed API clients (U2) and anonymous receipt
lookups.

Each caller may make `burst` requests at once, refilled at `rate` per second. The allowance
lives in the process: with N API processes a caller gets up to N times as much. Spending a
token is a dict lookup under a lock (a few microseconds): it sits on the hot paths.

Anonymous lookups are keyed by the client's address: behind a load balancer, name it in
`PUBLICPAY_TRUSTED_PROXIES` (api.proxies) so this is the caller and not the balancer.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from publicpay.domain.errors import RateLimited


class TokenBuckets:
    """One bucket per caller; `take` spends a token or raises `refusal(caller, wait_s)`."""

    def __init__(
        self,
        burst: float,
        rate_per_s: float,
        *,
        max_callers: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = float(burst)
        self.rate = rate_per_s
        self.max_callers = max_callers
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # caller → (tokens, at)
        self._lock = threading.Lock()

    def take(self, caller: str) -> None:
        """Spend one token of `caller`; the refusal (none spent) when none is left."""
        wait = self._wait(caller)
        if wait:
            raise self.refusal(caller, wait)

    def refusal(self, caller: str, wait_s: float) -> RateLimited:
        return RateLimited(
            f"请求过于频繁，请 {math.ceil(wait_s)} 秒后重试", retry_after_s=math.ceil(wait_s)
        )

    def _wait(self, caller: str) -> float:
        """0.0 when a token was spent, else the seconds until one is back."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                return (1.0 - tokens) / self.rate
            if len(self._buckets) >= self.max_callers and caller not in self._buckets:
                self._forget_full(now)
            self._buckets[caller] = (tokens - 1.0, now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        """Drop the callers whose allowance has refilled (they are as if never seen)."""
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for key in full or list(self._buckets)[: self.max_callers // 10]:
            del self._buckets[key]


class ApiClientLimiter(TokenBuckets):
    """`PUBLICPAY_API_RATE_PER_S` / `PUBLICPAY_API_RATE_BURST` per signed API credential."""

    def __init__(
        self, rate_per_s: float, burst: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(burst, rate_per_s, clock=clock)

    def refusal(self, caller: str, wait_s: float) -> RateLimited:
        seconds = math.ceil(wait_s)
        return RateLimited(
            f"凭证 {caller} 请求过于频繁，请 {seconds} 秒后重试", retry_after_s=seconds
        )


class LookupsLimited(RateLimited):
    code = "receipt_lookups_limited"
    title = "查询过于频繁"


class LookupLimiter(TokenBuckets):
    """Anonymous receipt lookups: `burst` at once, refilled at `per_minute`."""

    def __init__(
        self,
        burst: int = 20,
        per_minute: float = 20.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(burst, per_minute / 60.0, max_callers=max_clients, clock=clock)

    def refusal(self, caller: str, wait_s: float) -> RateLimited:
        return LookupsLimited(
            f"匿名查询票据过于频繁，请 {wait_s:.0f} 秒后重试，或提供校验码",
            retry_after_s=math.ceil(wait_s),
        )
