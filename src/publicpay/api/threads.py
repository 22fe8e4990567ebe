"""Blocking work of the two hot routes (registration, channel notifications) off the event loop.

One thread pool per process, as large as the database pool, so requests queue for a thread
before they hold a connection. asyncio's executor hand-off costs about half of anyio's (what
`starlette.concurrency.run_in_threadpool` uses): ~25 µs of CPU against ~50 µs a request here.
The other routes keep FastAPI's own threadpool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from starlette.requests import Request

T = TypeVar("T")
_STATE = "hot_threads"


def start(state: object, size: int) -> ThreadPoolExecutor:
    """Create the pool (app lifespan); `stop` shuts it down."""
    pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="publicpay-hot")
    setattr(state, _STATE, pool)
    return pool


def stop(pool: ThreadPoolExecutor) -> None:
    pool.shutdown(wait=True, cancel_futures=True)


async def run(request: Request, fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` on the hot-route pool (FastAPI's threadpool when the app has none, e.g.
    an app built without its lifespan)."""
    pool: ThreadPoolExecutor | None = getattr(request.app.state, _STATE, None)
    if pool is None:
        return await asyncio.to_thread(fn, *args)
    return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
