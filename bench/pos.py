"""Window POS journey benchmark (issue 13, item 9, the POS half): find → scan → paid → receipt.

    .venv/bin/python -m bench.pos [--journeys 30] [--db sqlite|postgresql]

The demo stack (platform and channel emulators, emulator time scale 1.0) in this process, served
over real HTTP (uvicorn on a free loopback port) on a fresh database. A cashier of the vehicle
office logs in (password + TOTP) and opens a shift at a hall window with a POS terminal. Per
journey (the registration with a plate number is setup, not timed):
  1. find      GET  /console/pos?q=<plate>              (the business record, priced items)
  2. pay page  GET  /console/pos/pay/<code>
  3. scan      POST /console/pos/pay/<code>/barcode     (the emulated payer's Alipay 付款码:
               the channel is called, the payment booked, the webhook queued)
  4. receipt   the worker's receipt task, in process    (issue + SM2 signatures)
  5. print     POST /console/pos/receipt/<code>         (the PDF through the terminal)
Prints the journey's system time (sum of the five, no human in it) and each step's p50/p95/max,
as a Markdown table. Never run by the tests; nothing in it asserts on time.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/pos.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import pyotp
import uvicorn

from publicpay.adapters.db.queries.units import all_units
from publicpay.api.auth import sign
from publicpay.demo.seed import POS_UNIT
from publicpay.demo.stack import build_stack
from publicpay.jobs.schedule import SCHEDULE
from publicpay.jobs.worker import run_once
from publicpay.services.users.accounts import NewUser, create_user
from publicpay.settings import Mode, Settings

RECEIPTS = tuple(t for t in SCHEDULE if t.name == "issue_receipts")
STEPS = ("find", "pay page", "scan", "receipt", "print")
UNTHROTTLED = {
    "anonymous_rate_per_s": 1e9,
    "anonymous_burst": 1e9,
    "anonymous_misses_per_hour": 1e9,
    "anonymous_orders_per_hour": 1e9,
}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database(kind: str) -> str:
    if kind == "postgresql":
        from sqlalchemy import create_engine, text

        name = f"publicpay_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                              isolation_level="AUTOCOMMIT")  # fmt: skip
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    return f"sqlite:///{tempfile.mkdtemp(prefix='pos-bench-')}/publicpay.db"


def _register(base: str, unit: dict[str, Any], payer: dict[str, str], plate: str) -> str:
    body = {
        "biz_no": "POSB" + uuid.uuid4().hex[:12],
        "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"]},
        "items": [{"item_code": "GA0101", "quantity": 1}, {"item_code": "GA0105", "quantity": 1}],
        "attributes": {"plate_no": plate},
    }
    import json

    raw = json.dumps(body, ensure_ascii=False).encode()
    ts, nonce = str(int(time.time())), uuid.uuid4().hex
    headers = {
        "X-App-Id": unit["app_id"], "X-Timestamp": ts, "X-Nonce": nonce,
        "X-Signature": sign(unit["app_secret"], "POST", "/api/v1/payables", ts, nonce, raw),
        "Content-Type": "application/json",
    }  # fmt: skip
    response = httpx.post(f"{base}/api/v1/payables", content=raw, headers=headers, timeout=20)
    response.raise_for_status()
    return str(response.json()["payment_code"])


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token"
    return found.group(1)


def _cashier(stack: Any) -> tuple[str, str, str]:
    c = stack.container
    with c.read_uow() as uow:
        unit_id = next(u.id for u in all_units(uow.connection) if u.code == POS_UNIT)
    username, password = f"bench_{secrets.token_hex(3)}", "bench-" + secrets.token_hex(8)
    created = create_user(c.uow(), NewUser(username, password, "cashier", unit_id=unit_id),
                          actor="bench", clock=c.clock)  # fmt: skip
    return username, password, created.totp_secret


def run(journeys: int, db: str) -> str:
    port = _free_port()
    settings = Settings(mode=Mode.DEMO, database_url=_database(db),
                        public_base_url=f"http://127.0.0.1:{port}", **UNTHROTTLED)  # fmt: skip
    stack = build_stack(settings, emulator_time_scale=1.0)
    server = uvicorn.Server(uvicorn.Config(stack.app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    unit, payer = stack.info["units"][0], stack.info["payers"][0]
    username, password, secret = _cashier(stack)
    timings: dict[str, list[float]] = {step: [] for step in STEPS}
    totals: list[float] = []
    with httpx.Client(base_url=base, timeout=60) as web:
        form = web.get("/console/login")
        login = {"username": username, "password": password,
                 "code": pyotp.TOTP(secret).now(), "csrf": _csrf(form.text)}  # fmt: skip
        assert web.post("/console/login", data=login).status_code == 303
        page = web.get("/console/pos")
        window = re.search(r'<option value="(\d+)"', page.text)
        assert window, "no POS window"
        shift = {"window_id": window.group(1), "opening_float": "0", "csrf": _csrf(page.text)}
        opened = web.post("/console/pos/shift", data=shift)
        assert opened.status_code == 303, opened.text
        for n in range(journeys + 3):  # the first 3 warm up
            plate = f"浙A·B{n:04d}"
            code = _register(base, unit, payer, plate)
            auth = httpx.post(f"{base}/emulator/alipay/barcodes", json={}, timeout=10).json()
            step: dict[str, float] = {}
            t0 = time.perf_counter()
            found = web.get("/console/pos", params={"q": plate})
            assert code in found.text
            t1 = time.perf_counter()
            pay = web.get(f"/console/pos/pay/{code}")
            t2 = time.perf_counter()
            scanned = {"auth_code": auth["auth_code"], "csrf": _csrf(pay.text)}
            paid = web.post(f"/console/pos/pay/{code}/barcode", data=scanned)
            assert "支付成功" in paid.text, paid.text[-500:]
            t3 = time.perf_counter()
            run_once(stack.container, RECEIPTS)
            t4 = time.perf_counter()
            printed = web.post(f"/console/pos/receipt/{code}", data={"csrf": _csrf(pay.text)})
            assert printed.headers["content-type"] == "application/pdf"
            t5 = time.perf_counter()
            step = dict(zip(STEPS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True))
            if n >= 3:
                for name, value in step.items():
                    timings[name].append(value)
                totals.append(t5 - t0)
    server.should_exit = True
    stack.close()
    _drop(settings.database_url)
    return _table(db, journeys, timings, totals)


def _drop(url: str) -> None:
    """The bench's PostgreSQL database goes away with it (SQLite: a temporary directory)."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def _table(db: str, n: int, timings: dict[str, list[float]], totals: list[float]) -> str:
    rows = [f"POS journey (find → scan → paid → receipt), {db}, {n} journeys, ms", "",
            "| step | p50 | p95 | max |", "|---|---:|---:|---:|"]  # fmt: skip
    for name in STEPS:
        values = timings[name]
        rows.append(f"| {name} | {_pct(values, .5):.0f} | {_pct(values, .95):.0f} | "
                    f"{max(values) * 1000:.0f} |")  # fmt: skip
    rows.append(f"| **journey (system time)** | {statistics.median(totals) * 1000:.0f} | "
                f"{_pct(totals, .95):.0f} | {max(totals) * 1000:.0f} |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=30)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    print(run(args.journeys, args.db))


if __name__ == "__main__":
    main()
