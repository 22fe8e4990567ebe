"""Refund journey benchmark (issue 11): a unit asks for a partial refund over the unit API, the
finance bureau approves it over the finance API, the worker refunds it through the emulated
channel, and the red-letter and replacement receipts are issued — end to end against
`publicpay demo` (web + worker + channel emulators, SQLite), exactly the calls a business
system and a bureau's approval system make.

    .venv/bin/python -m bench.refunds [--journeys 20]

Per journey (after a payable is registered and paid, not timed): ask (201 pending_approval) →
approve (approved) → poll the refund until succeeded → poll the events until the red receipt is
issued. Prints the journey's wall time (median, p95, max) and the server response time of each
call. Never run inside the tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):  # `python bench/refunds.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.kiosk import Timings, _start_demo
from bench.server import free_port
from publicpay.api.auth import sign

POLL_S = 0.05


class Signed:
    def __init__(self, http: httpx.Client, app_id: str, secret: str) -> None:
        self.http, self.app_id, self.secret = http, app_id, secret

    def call(self, method: str, path: str, payload: Any = None, **headers: str) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        ts, nonce = str(int(time.time())), uuid.uuid4().hex
        signed = {
            "X-App-Id": self.app_id,
            "X-Timestamp": ts,
            "X-Nonce": nonce,
            "X-Signature": sign(self.secret, method, path, ts, nonce, body),
            "Content-Type": "application/json",
            **headers,
        }
        return self.http.request(method, path, content=body, headers=signed)


def _paid_payable(http: httpx.Client, unit: Signed, payer: dict[str, str]) -> str:
    person = {"name": payer["name"], "type": "person", "id_no": payer["id_no"]}
    items = [{"item_code": "JY0102", "quantity": 1}]
    body = {"biz_no": uuid.uuid4().hex, "payer": person, "items": items}
    code = str(unit.call("POST", "/api/v1/payables", body).json()["payment_code"])
    order = http.post(f"/api/v1/pay/{code}/orders", json={"channel": "alipay"}).json()
    http.post("/emulator/alipay/scan", json={"qr_code": order["qr_code"]}).raise_for_status()
    while unit.call("GET", f"/api/v1/payables/{code}").json()["status"] != "paid":
        time.sleep(POLL_S)
    return code


def journey(
    http: httpx.Client, unit: Signed, bureau: Signed, payer: dict[str, str], t: Timings
) -> float:
    code = _paid_payable(http, unit, payer)
    started = time.perf_counter()
    asked = t.timed("ask (unit API)", lambda: unit.call(
        "POST", f"/api/v1/payables/{code}/refunds", {"amount_fen": 10_000, "reason": "退宿"},
        **{"Idempotency-Key": uuid.uuid4().hex},
    ))  # fmt: skip
    assert asked.status_code == 201, asked.text
    refund_no = asked.json()["refund_no"]
    approve = f"/api/v1/admin/refunds/{refund_no}/approve"
    decided = t.timed(
        "approve (finance API)", lambda: bureau.call("POST", approve, {"note": "同意"})
    )
    assert decided.status_code == 200, decided.text
    path = f"/api/v1/refunds/{refund_no}"
    while t.timed("refund status", lambda: unit.call("GET", path)).json()["status"] != "succeeded":
        time.sleep(POLL_S)
    while not _red_issued(unit, code, t):
        time.sleep(POLL_S)
    return time.perf_counter() - started


def _red_issued(unit: Signed, code: str, t: Timings) -> bool:
    events = t.timed("events", lambda: unit.call("GET", "/api/v1/events?after=0&limit=500"))
    return any(
        e["type"] == "receipt.issued"
        and e["data"].get("kind") == "red"
        and e["data"]["payment_code"] == code
        for e in events.json()["events"]
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        proc = _start_demo(port, data_dir)
        try:
            info = json.loads((Path(data_dir) / "demo.json").read_text())
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                school = info["units"][2]
                unit = Signed(http, school["app_id"], school["app_secret"])
                fin = info["finance"]
                bureau = Signed(http, fin["app_id"], fin["app_secret"])
                timings = Timings()
                walls = [
                    journey(http, unit, bureau, info["payers"][0], timings)
                    for _ in range(args.journeys)
                ]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"| measure ({args.journeys} journeys) | median | p95 | max |")
    print("|---|---:|---:|---:|")
    print(
        f"| journey: ask → approve → channel refund succeeded → red receipt issued | "
        f"{statistics.median(walls):.2f} s | {_pct(walls, 0.95):.2f} s | {max(walls):.2f} s |"
    )
    for name, values in timings.calls.items():
        print(
            f"| {name} | {statistics.median(values):.1f} ms | {_pct(values, 0.95):.1f} ms | "
            f"{max(values):.1f} ms |"
        )


if __name__ == "__main__":
    main()
