"""Waiting for what happens in another thread or process: poll with a deadline, never a fixed
sleep. The one `time.sleep` of the tests is the poll interval below."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(condition: Callable[[], T], *, timeout_s: float = 5.0, interval_s: float = 0.01) -> T:
    """Call `condition` until it returns something truthy or `timeout_s` has passed; its last
    answer (falsy when the time ran out)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)


def wait_until(
    condition: Callable[[], T],
    *,
    timeout_s: float = 5.0,
    interval_s: float = 0.01,
    message: str = "condition not reached in time",
) -> T:
    """`poll`, and fail the test (AssertionError) when the condition never held."""
    value = poll(condition, timeout_s=timeout_s, interval_s=interval_s)
    if not value:
        raise AssertionError(f"{message} (waited {timeout_s} s)")
    return value
