"""A business system's webhook endpoint that records what it receives."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.support.polling import poll


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
        """What arrived matching `predicate`, as soon as something did ([] after `timeout`)."""

        def matching() -> list[Received]:
            with self.lock:
                return [r for r in self.received if predicate(r)]

        return poll(matching, timeout_s=timeout, interval_s=0.02)
