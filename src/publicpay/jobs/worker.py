"""The worker process: runs the schedule until stopped."""

from __future__ import annotations

import logging
import threading
import time

from publicpay.bootstrap import Container
from publicpay.jobs.schedule import SCHEDULE, Task

log = logging.getLogger("publicpay.worker")


def run_once(c: Container, tasks: tuple[Task, ...] = SCHEDULE) -> dict[str, int]:
    """Run every task once (tests and `publicpay worker --once`)."""
    return {task.name: _safe(task, c) for task in tasks}


def run_forever(c: Container, stop: threading.Event, tasks: tuple[Task, ...] = SCHEDULE) -> None:
    next_run = dict.fromkeys((t.name for t in tasks), 0.0)
    while not stop.is_set():
        now = time.monotonic()
        busy = False
        for task in tasks:
            if now >= next_run[task.name]:
                busy |= _safe(task, c) > 0
                next_run[task.name] = time.monotonic() + task.every_s
        stop.wait(0.05 if busy else c.settings.worker_poll_s / 5)


def _safe(task: Task, c: Container) -> int:
    try:
        return task.run(c)
    except Exception:
        log.exception("task %s failed; it will run again", task.name)
        return 0
