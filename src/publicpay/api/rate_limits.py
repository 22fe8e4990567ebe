"""Token buckets per caller, in the process: signed API clients (U2) and callers without
credentials (payers' pages and files opened by a payment code, receipt checks).

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
from dataclasses import dataclass

from starlette.requests import Request

from publicpay.domain.errors import RateLimited
from publicpay.settings import Settings


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


class FailureBuckets(TokenBuckets):
    """Buckets only failures spend: `check` refuses a caller with no token left (spending
    nothing), `fail` spends one. Checked before answering, so a caller over the allowance is
    refused even when this attempt would have been right (no oracle for guessing)."""

    def check(self, caller: str) -> None:
        tokens = self._tokens(caller, spend=False)
        if tokens < 1.0:
            raise self.refusal(caller, (1.0 - tokens) / self.rate)

    def fail(self, caller: str) -> None:
        self._tokens(caller, spend=True)

    def _tokens(self, caller: str, *, spend: bool) -> float:
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if spend:
                if len(self._buckets) >= self.max_callers and caller not in self._buckets:
                    self._forget_full(now)
                tokens = max(0.0, tokens - 1.0)
                self._buckets[caller] = (tokens, now)
            return tokens


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


def client_address(request: Request) -> str:
    """The caller's address, for throttling and the audit: the one place that reads it (behind
    a trusted proxy the proxy middleware has already put the forwarded client in the scope)."""
    return request.client.host if request.client else "unknown"


class AnonymousLimited(RateLimited):
    code = "anonymous_limited"
    title = "访问过于频繁"


class OrdersLimited(RateLimited):
    code = "orders_limited"
    title = "创建支付订单过于频繁"


class _Requests(TokenBuckets):
    def refusal(self, caller: str, wait_s: float) -> RateLimited:
        seconds = math.ceil(wait_s)
        return AnonymousLimited(f"访问过于频繁，请 {seconds} 秒后重试", retry_after_s=seconds)


class _Misses(FailureBuckets):
    def refusal(self, caller: str, wait_s: float) -> RateLimited:
        seconds = math.ceil(wait_s)
        return AnonymousLimited(
            f"查询不存在的缴款码次数过多，请 {seconds} 秒后重试", retry_after_s=seconds
        )


class _CheckCodes(FailureBuckets):
    def refusal(self, caller: str, wait_s: float) -> RateLimited:
        seconds = math.ceil(wait_s)
        return LookupsLimited(
            f"票据校验码错误次数过多，请 {seconds} 秒后重试", retry_after_s=seconds
        )


class _Orders(TokenBuckets):
    def refusal(self, caller: str, wait_s: float) -> RateLimited:
        seconds = math.ceil(wait_s)
        return OrdersLimited(
            f"本网络地址创建支付订单过于频繁，请 {seconds} 秒后重试", retry_after_s=seconds
        )


@dataclass(frozen=True, slots=True)
class AnonymousAllowance:
    """Per client address (PUBLICPAY_ANONYMOUS_*), and wrong check codes per receipt."""

    rate_per_s: float = 2.0  # requests by payment code or receipt, refilled …
    burst: float = 120.0  # … after this many at once
    misses_per_hour: float = 20.0  # unknown payment codes; wrong check codes (each its own)
    orders_per_hour: float = 20.0  # channel orders opened
    receipt_failures_per_hour: float = 5.0  # wrong check codes of one receipt, from anyone


class CheckCodeAttempts:
    """One caller's attempts at one receipt's check code (services.receipts.access.Attempts)."""

    def __init__(self, limits: AnonymousLimits, caller: str, receipt: str) -> None:
        self._limits, self._caller, self._receipt = limits, caller, receipt

    def check(self) -> None:
        self._limits.check_codes.check(self._caller)
        self._limits.receipts.check(self._receipt)

    def failed(self) -> None:
        self._limits.check_codes.fail(self._caller)
        self._limits.receipts.fail(self._receipt)


class AnonymousLimits:
    """What callers without credentials may do, in this process (N API processes: N times).

    - `lookup`: every request that opens something by payment code or checks a receipt spends a
      token of its address (`burst` at once, `rate_per_s` after: the pay page polls once a
      second), and is refused while the address has no unknown-code allowance left;
    - `missed`: a well-formed payment code that does not exist spends the address's miss
      allowance (a mistyped code fails its check digit and costs nothing more);
    - `attempts(caller, receipt)`: wrong check codes spend the caller's allowance and the
      receipt's (so neither one address nor many can guess one receipt's code);
    - `order`: each channel order opened spends the address's hourly order allowance.
    """

    def __init__(
        self,
        allowance: AnonymousAllowance = AnonymousAllowance(),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        per_hour = 1 / 3600
        a = allowance
        self.requests = _Requests(a.burst, a.rate_per_s, clock=clock)
        self.misses = _Misses(a.misses_per_hour, a.misses_per_hour * per_hour, clock=clock)
        self.check_codes = _CheckCodes(a.misses_per_hour, a.misses_per_hour * per_hour, clock=clock)
        self.receipts = _CheckCodes(
            a.receipt_failures_per_hour, a.receipt_failures_per_hour * per_hour, clock=clock
        )
        self.orders = _Orders(a.orders_per_hour, a.orders_per_hour * per_hour, clock=clock)

    def lookup(self, address: str) -> None:
        """A lookup by payment code: refused while the address has no miss allowance left."""
        self.misses.check(address)
        self.requests.take(address)

    def request(self, address: str) -> None:
        """Any other anonymous lookup (a receipt check)."""
        self.requests.take(address)

    def missed(self, address: str) -> None:
        self.misses.fail(address)

    def attempts(self, caller: str, receipt: str) -> CheckCodeAttempts:
        return CheckCodeAttempts(self, caller, receipt)

    def order(self, address: str) -> None:
        self.orders.take(address)


def anonymous_allowance(settings: Settings) -> AnonymousAllowance:
    return AnonymousAllowance(
        rate_per_s=settings.anonymous_rate_per_s,
        burst=settings.anonymous_burst,
        misses_per_hour=settings.anonymous_misses_per_hour,
        orders_per_hour=settings.anonymous_orders_per_hour,
        receipt_failures_per_hour=settings.receipt_check_failures_per_hour,
    )


def anonymous_limits(request: Request) -> AnonymousLimits:
    limits: AnonymousLimits = request.app.state.anonymous_limits
    return limits
