"""A business system's webhook endpoint that records what it receives."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    received: list[Received] = field(default_factory=list)
    status_code: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()  # never await while holding the lock
            with self.lock:
                self.received.append(Received(dict(request.headers), body))
            return Response(status_code=self.status_code)

        return app

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [r for r in self.received if predicate(r)]
            if found:
                return found
            time.sleep(0.02)
        return []
