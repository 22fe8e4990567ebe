"""A unit's business system as the demo and the tests play it (the vehicle office's, 车管业务
系统): it answers the platform's signed business-record query (`business.lookup`, protocol in
docs/integration-guide.md, "Asking the business system") for records not registered yet.

Mounted at /emulator/business: `POST /lookup` is the URL the unit configured
(`PUT /api/v1/lookup-endpoint`); it checks the platform's `X-PublicPay-Signature` with the
secret it was given, finds the record by the asked value (business number, plate, licence or
ID number; spaces, dots and case do not matter) and answers `{"found": true, "payable": {…the
registration body…}}` or `{"found": false}`, signed the same way. `POST /records` adds a record
(`{"keys": [...], "payable": {...}, "behaviour"?: "answer"|"timeout"|"bad_signature"|
"bad_answer", "delay_s"?}`) — the behaviours let tests see the platform's refusals.

It keeps its own signing code: it is the other party, not the platform.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

MAX_SKEW_S = 300


def _key(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch not in " ·.-_")


def _signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _verified(secret: str, header: str, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(time.time() - timestamp) > MAX_SKEW_S:
        return False
    macs = [p.split("=", 1)[1] for p in header.split(",") if p.startswith("v1=")]
    expected = _signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, mac) for mac in macs)


@dataclass
class Record:
    payable: dict[str, Any]
    behaviour: str = "answer"
    delay_s: float = 0.0


@dataclass
class BusinessSystemEmulator:
    secret: str = ""
    records: dict[str, Record] = field(default_factory=dict)
    asked: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, keys: list[str], record: Record) -> None:
        with self.lock:
            for key in keys:
                self.records[_key(key)] = record

    def answer(self, q: str) -> tuple[Record | None, bytes]:
        with self.lock:
            record = self.records.get(_key(q))
        if record is None:
            return None, json.dumps({"found": False}).encode()
        if record.behaviour == "bad_answer":
            return record, json.dumps({"found": True, "payable": {"biz_no": 42}}).encode()
        body = {"found": True, "payable": record.payable}
        return record, json.dumps(body, ensure_ascii=False).encode()

    def signed(self, body: bytes, *, forged: bool = False) -> Response:
        timestamp = int(time.time())
        secret = "forged-" + self.secret if forged else self.secret
        header = f"t={timestamp},v1={_signature(secret, timestamp, body)}"
        return Response(body, media_type="application/json",
                        headers={"X-PublicPay-Signature": header})  # fmt: skip

    def create_app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        @app.post("/lookup")
        async def lookup(request: Request) -> Response:
            body = await request.body()
            header = request.headers.get("x-publicpay-signature", "")
            if not self.secret or not _verified(self.secret, header, body):
                return JSONResponse({"error": "bad signature"}, status_code=401)
            try:
                q = str(json.loads(body)["data"]["q"])
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"error": "bad query"}, status_code=400)
            with self.lock:
                self.asked.append({"q": q, "event": request.headers.get("x-publicpay-event")})
            record, answer = self.answer(q)
            if record is not None and (record.delay_s or record.behaviour == "timeout"):
                await anyio.sleep(record.delay_s or 10.0)
            forged = record is not None and record.behaviour == "bad_signature"
            return self.signed(answer, forged=forged)

        @app.post("/records")
        async def add(request: Request) -> JSONResponse:
            data = await request.json()
            record = Record(dict(data["payable"]), str(data.get("behaviour", "answer")),
                            float(data.get("delay_s", 0.0)))  # fmt: skip
            self.add([str(k) for k in data["keys"]], record)
            return JSONResponse({"keys": data["keys"]})

        return app
