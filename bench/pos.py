"""Window POS journey benchmark (issue 13, item 9, the POS half): find → pay → paid → receipt,
by scanned 付款码, by the aggregate QR the payer scans on the POS, and by bank card.

    .venv/bin/python -m bench.pos [--journeys 30] [--db sqlite|postgresql]
                                  [--method barcode|qr|card|all]

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
By QR, step 3 is: show QR (GET …/qr: the aggregate code), wallet pays (the emulated WeChat
wallet opens the code and pays: the payer's part), page sees paid (the page's status poll, then
the result page). By card, step 3 is the sale on the terminal through the emulated acquirer,
which includes its simulated card read and PIN (0.8 s: the payer's part).
Prints the journey's system time (sum of the five, no human in it) and each step's p50/p95/max,
as a Markdown table. Never run by the tests; nothing in it asserts on time.
"""

from __future__ import annotations

import argparse
import html
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


METHODS = ("barcode", "qr", "card")
STEPS_OF = {
    "barcode": ("find", "pay page", "scan", "receipt", "print"),
    "qr": ("find", "pay page", "show QR", "wallet pays", "page sees paid", "receipt", "print"),
    "card": ("find", "pay page", "card sale", "receipt", "print"),
}


class Journey:
    """One cashier's session at a window: the steps of one payment by one method, timed."""

    def __init__(self, stack: Any, web: httpx.Client, base: str) -> None:
        self.stack, self.web, self.base = stack, web, base
        self.marks: list[float] = []

    def mark(self) -> None:
        self.marks.append(time.perf_counter())

    def run(self, method: str, plate: str, code: str) -> list[float]:
        web = self.web
        self.marks = []
        self.mark()
        found = web.get("/console/pos", params={"q": plate})
        assert code in found.text
        self.mark()
        pay = web.get(f"/console/pos/pay/{code}")
        self.mark()
        getattr(self, f"_{method}")(code, _csrf(pay.text))
        run_once(self.stack.container, RECEIPTS)
        self.mark()
        printed = web.post(f"/console/pos/receipt/{code}", data={"csrf": _csrf(pay.text)})
        assert printed.headers["content-type"] == "application/pdf"
        self.mark()
        return [b - a for a, b in zip(self.marks, self.marks[1:], strict=False)]

    def _barcode(self, code: str, csrf: str) -> None:
        auth = httpx.post(f"{self.base}/emulator/alipay/barcodes", json={}, timeout=10).json()
        paid = self.web.post(f"/console/pos/pay/{code}/barcode",
                             data={"auth_code": auth["auth_code"], "csrf": csrf})  # fmt: skip
        assert "支付成功" in paid.text, paid.text[-500:]
        self.mark()

    def _qr(self, code: str, csrf: str) -> None:
        shown = self.web.get(f"/console/pos/pay/{code}/qr")
        qr = html.unescape(shown.text.split('data-qr="')[1].split('"')[0])
        self.mark()
        scanned = httpx.post(f"{self.base}/emulator/wechat/scan", json={"qr_code": qr}, timeout=30)
        assert scanned.status_code == 200, scanned.text
        self.mark()
        while not self.web.get(f"/console/pos/status/{code}").json()["paid"]:  # the page polls
            time.sleep(0.05)
        done = self.web.get(f"/console/pos/done/{code}")
        assert "支付成功" in done.text
        self.mark()

    def _card(self, code: str, csrf: str) -> None:
        paid = self.web.post(f"/console/pos/pay/{code}/card", data={"csrf": csrf})
        assert "银行卡支付成功" in paid.text, paid.text[-500:]
        self.mark()


def run(journeys: int, db: str, methods: tuple[str, ...] = METHODS) -> str:
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
    tables = []
    with httpx.Client(base_url=base, timeout=90) as web:
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
        journey = Journey(stack, web, base)
        for method in methods:
            steps = STEPS_OF[method]
            timings: dict[str, list[float]] = {step: [] for step in steps}
            totals: list[float] = []
            for n in range(journeys + 3):  # the first 3 warm up
                plate = f"浙A·{method[0].upper()}{n:04d}"
                code = _register(base, unit, payer, plate)
                step = journey.run(method, plate, code)
                if n >= 3:
                    for name, value in zip(steps, step, strict=True):
                        timings[name].append(value)
                    totals.append(sum(step))
            tables.append(_table(db, journeys, timings, totals, method))
    server.should_exit = True
    stack.close()
    _drop(settings.database_url)
    return "\n\n".join(tables)


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


def _table(
    db: str, n: int, timings: dict[str, list[float]], totals: list[float], method: str
) -> str:
    rows = [f"POS journey by {method} (find → pay → paid → receipt), {db}, {n} journeys, ms", "",
            "| step | p50 | p95 | max |", "|---|---:|---:|---:|"]  # fmt: skip
    for name, values in timings.items():
        rows.append(f"| {name} | {_pct(values, .5):.0f} | {_pct(values, .95):.0f} | "
                    f"{max(values) * 1000:.0f} |")  # fmt: skip
    rows.append(f"| **journey (system time)** | {statistics.median(totals) * 1000:.0f} | "
                f"{_pct(totals, .95):.0f} | {max(totals) * 1000:.0f} |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=30)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--method", choices=[*METHODS, "all"], default="all")
    args = parser.parse_args()
    methods = METHODS if args.method == "all" else (args.method,)
    print(run(args.journeys, args.db, methods))


if __name__ == "__main__":
    main()
