"""Channel-neutral pieces shared by the channel emulators: the fault model and a notifier.

`Notifier` plays a channel's notification sender: one background thread POSTs prepared requests
to merchants' notify URLs on a retry schedule until an `is_acknowledged(response)` callback says
the merchant took it (Alipay: body `success`; WeChat Pay: HTTP 200/204), recording every attempt.
Schedules are lists of delays in seconds (the first is the delay before the first attempt, each
later one the wait after the previous attempt) multiplied by `time_scale`, so tests run the real
schedule in milliseconds.

`FaultBook` holds the faults a tester switched on, per out_trade_no or for all orders ("*").
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import httpx

WILDCARD = "*"
DEFAULT_FAULT_SECONDS = 3.0  # TIMEOUT sleep, DELAY/REORDER hold-back, when none is given


class Fault(StrEnum):
    TIMEOUT = "timeout"  # the API call hangs longer than the client's timeout, then answers
    ERROR_5XX = "error_5xx"  # the API answers 502
    LOSE_NOTIFY = "lose_notify"  # the notification is never sent
    DELAY_NOTIFY = "delay_notify"  # the first attempt waits `seconds`
    DUPLICATE_NOTIFY = "duplicate_notify"  # the same notification is delivered twice
    REORDER_NOTIFY = "reorder_notify"  # the first notification is held back so a later overtakes
    AMOUNT_MISMATCH = "amount_mismatch"  # notification and query report a different amount
    SUCCEED_AFTER_CLOSE = "succeed_after_close"  # the payer still pays after the merchant closed


@dataclass(frozen=True, slots=True)
class FaultSetting:
    fault: Fault
    seconds: float | None = None

    def seconds_or(self, default: float) -> float:
        return default if self.seconds is None else self.seconds


class FaultBook:
    """Faults switched on per out_trade_no, or for every order with the wildcard "*"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, dict[Fault, FaultSetting]] = {}

    def add(self, out_trade_no: str, fault: Fault, seconds: float | None = None) -> None:
        with self._lock:
            self._faults.setdefault(out_trade_no, {})[fault] = FaultSetting(fault, seconds)

    def clear(self, out_trade_no: str | None = None) -> None:
        """Clear one order's faults (or the wildcard's with "*"), or all when None."""
        with self._lock:
            if out_trade_no is None:
                self._faults.clear()
            else:
                self._faults.pop(out_trade_no, None)

    def get(self, out_trade_no: str | None, fault: Fault) -> FaultSetting | None:
        """The setting for `fault` on this order; an order's own setting beats the wildcard's."""
        with self._lock:
            own = self._faults.get(out_trade_no, {}) if out_trade_no else {}
            return own.get(fault) or self._faults.get(WILDCARD, {}).get(fault)

    def listing(self) -> list[dict[str, object]]:
        with self._lock:
            return [
                {"out_trade_no": key, "fault": str(s.fault), "seconds": s.seconds}
                for key, settings in self._faults.items()
                for s in settings.values()
            ]


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int  # 1-based within its delivery
    at: datetime  # UTC
    status_code: int | None  # None when the request failed at the transport
    response_body: str
    error: str = ""


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    GAVE_UP = "gave_up"  # the schedule ran out without an acknowledgement
    LOST = "lost"  # the LOSE fault: never sent
    STOPPED = "stopped"  # the notifier was closed first


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification copy and what happened to it (a snapshot)."""

    id: int
    key: str  # what the emulator groups by, e.g. the out_trade_no
    copy: int  # 0 for the original, 1 for the DUPLICATE fault's second copy
    request: OutgoingRequest
    status: DeliveryStatus
    attempts: tuple[Attempt, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "key": self.key,
            "copy": self.copy,
            "url": self.request.url,
            "request_body": self.request.body.decode("utf-8", "replace"),
            "status": str(self.status),
            "attempts": [
                {
                    "number": a.number,
                    "at": a.at.isoformat(),
                    "status_code": a.status_code,
                    "response_body": a.response_body,
                    "error": a.error,
                }
                for a in self.attempts
            ],
        }


@dataclass(slots=True)
class _Job:
    id: int
    key: str
    copy: int
    request: OutgoingRequest
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: list[Attempt] = field(default_factory=list)

    def snapshot(self) -> Delivery:
        return Delivery(
            self.id, self.key, self.copy, self.request, self.status, tuple(self.attempts)
        )


class Notifier:
    """Sends notifications from one background thread, retrying on `schedule` until acknowledged."""

    def __init__(
        self,
        *,
        schedule: Sequence[float],
        is_acknowledged: Callable[[httpx.Response], bool],
        time_scale: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        request_timeout_s: float = 5.0,
    ) -> None:
        if not schedule:
            raise ValueError("schedule needs at least one delay")
        self._schedule = [float(d) for d in schedule]
        self._is_acknowledged = is_acknowledged
        self._time_scale = time_scale
        self._client = httpx.Client(transport=transport, timeout=request_timeout_s, trust_env=False)
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, _Job]] = []  # (due monotonic, seq, job)
        self._jobs: list[_Job] = []
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._busy = 0
        self._stopped = False
        self._thread: threading.Thread | None = None

    def dispatch(
        self,
        request: OutgoingRequest,
        *,
        key: str = "",
        first_delay_s: float = 0.0,
        duplicate: bool = False,
        lose: bool = False,
    ) -> None:
        """Queue a notification under `key`.

        `first_delay_s` (real seconds, not scaled) holds the first attempt back; `duplicate`
        sends a second identical copy; `lose` records the delivery but never sends it.
        """
        with self._cond:
            if self._stopped:
                raise RuntimeError("notifier is closed")
            for copy in range(2 if duplicate else 1):
                job = _Job(next(self._ids), key, copy, request)
                self._jobs.append(job)
                if lose:
                    job.status = DeliveryStatus.LOST
                    continue
                delay = first_delay_s + self._schedule[0] * self._time_scale
                self._push(time.monotonic() + delay, job)
            self._ensure_thread()
            self._cond.notify_all()

    def deliveries(self, key: str | None = None) -> list[Delivery]:
        with self._cond:
            return [j.snapshot() for j in self._jobs if key is None or j.key == key]

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Block until nothing is queued or in flight; False if `timeout_s` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._busy == 0, timeout_s)

    def close(self) -> None:
        """Stop the thread; queued attempts are dropped (their deliveries say STOPPED)."""
        with self._cond:
            self._stopped = True
            for _, _, job in self._queue:
                job.status = DeliveryStatus.STOPPED
            self._queue.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self._client.close()

    def _push(self, due: float, job: _Job) -> None:
        heapq.heappush(self._queue, (due, next(self._seq), job))

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="emulator-notifier", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._next_due()
            if job is None:
                return
            attempt = self._send(job, len(job.attempts) + 1)
            with self._cond:
                self._record(job, attempt)
                self._busy -= 1
                self._cond.notify_all()

    def _next_due(self) -> _Job | None:
        with self._cond:
            while True:
                if self._stopped:
                    return None
                now = time.monotonic()
                if self._queue and self._queue[0][0] <= now:
                    _, _, job = heapq.heappop(self._queue)
                    self._busy += 1
                    return job
                wait = self._queue[0][0] - now if self._queue else None
                self._cond.wait(wait)

    def _send(self, job: _Job, number: int) -> tuple[Attempt, bool]:
        at = datetime.now(UTC)
        request = job.request
        try:
            response = self._client.post(request.url, content=request.body, headers=request.headers)
        except httpx.HTTPError as exc:
            return Attempt(number, at, None, "", f"{type(exc).__name__}: {exc}"), False
        body = response.content.decode("utf-8", "replace")
        return Attempt(number, at, response.status_code, body), self._is_acknowledged(response)

    def _record(self, job: _Job, outcome: tuple[Attempt, bool]) -> None:
        attempt, acknowledged = outcome
        job.attempts.append(attempt)
        if acknowledged:
            job.status = DeliveryStatus.ACKNOWLEDGED
        elif self._stopped:
            job.status = DeliveryStatus.STOPPED
        elif attempt.number < len(self._schedule):
            delay = self._schedule[attempt.number] * self._time_scale
            self._push(time.monotonic() + delay, job)
        else:
            job.status = DeliveryStatus.GAVE_UP
