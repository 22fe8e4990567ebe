"""A fixed pure-Python workload timed on this process's CPU clock, run before each timed batch.

This VM's speed drifts: the same loop took 275–447 ms within a minute on 2026-12-05, and every
rate in the table moves with it. The probe's time next to each row shows the phase the row ran
in (lower is faster); compare rates between runs only at similar probe times.
"""

from __future__ import annotations

import time

_N = 2_000_000


def probe_ms() -> float:
    started = time.process_time()
    total = 0
    for i in range(_N):
        total += i * i
    assert total > 0
    return (time.process_time() - started) * 1000
