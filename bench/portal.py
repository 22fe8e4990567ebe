"""Payer portal benchmark (issue 13): a payer on a phone pays by a wallet button — Alipay
手机网站支付 and WeChat Pay H5 — and a payer who proved who they are pays two payables from
the history's cart; end to end against `publicpay demo` (web + worker + channel emulators,
SQLite) with the emulated payer confirming on the emulated wallets' pages.

    .venv/bin/python -m bench.portal [--journeys 20]

Per wallet journey: the pay page → tap (303 to the wallet) → the wallet's page → the payer
confirms (the emulator notifies the platform and sends the browser back) → the pay page again →
poll until paid. History journey: proof by payment code + name → the list → the cart (one
aggregate QR for two) → the wallet scans → poll until both are paid. Prints each journey's
wall time (median, p95, max; target < 10 s of system time) and the server response time
percentiles of every portal call (target: 95th percentile ≤ 100 ms). The payer's own time is not
in it. One untimed journey of each kind warms the server up first. Never run inside the tests.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

if __package__ in (None, ""):  # `python bench/portal.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.kiosk import Timings, _pct, _register, _start_demo, _until
from bench.server import free_port
from publicpay.demo.seed import citizen_id
from publicpay.emulators.wallet import ALIPAY_USER_AGENT

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def _paid(phone: httpx.Client, code: str, t: Timings) -> bool:
    answer = t.timed("status (poll)", lambda: phone.get(f"/api/v1/pay/{code}"))
    return bool(answer.json()["status"] == "paid")


def alipay_wap(base: str, unit: dict[str, str], t: Timings) -> float:
    person = {"name": "郑淑华", "id_no": citizen_id(random.Random())}
    code = _register(base, unit, person, "GA0101")
    with httpx.Client(base_url=base, headers={"User-Agent": ALIPAY_USER_AGENT}) as phone:
        started = time.perf_counter()
        t.timed("GET /pay/{code}", lambda: phone.get(f"/pay/{code}")).raise_for_status()
        tap = t.timed("tap 支付宝支付 (WAP)", lambda: phone.post(f"/pay/{code}/wallet/alipay-wap"))
        cashier = phone.get(tap.headers["location"])
        token = re.search(r'name="token" value="([^"]+)"', cashier.text)
        assert token is not None, cashier.text
        back = phone.post("/emulator/alipay/wap/pay", data={"token": token.group(1)})
        returned = back.headers["location"]
        t.timed("GET /pay/{code} (back)", lambda: phone.get(returned)).raise_for_status()
        _until(lambda: _paid(phone, code, t), "paid")
        return time.perf_counter() - started


def wechat_h5(base: str, unit: dict[str, str], t: Timings) -> float:
    person = {"name": "郑淑华", "id_no": citizen_id(random.Random())}
    code = _register(base, unit, person, "GA0101")
    with httpx.Client(base_url=base, headers={"User-Agent": PHONE_UA}) as phone:
        started = time.perf_counter()
        t.timed("GET /pay/{code}", lambda: phone.get(f"/pay/{code}")).raise_for_status()
        tap = t.timed("tap 微信支付 (H5)", lambda: phone.post(f"/pay/{code}/wallet/wechat-h5"))
        h5_url = tap.headers["location"]
        phone.get(h5_url).raise_for_status()
        query = parse_qs(urlsplit(h5_url).query)
        form = {"prepay_id": query["prepay_id"][0], "redirect_url": query["redirect_url"][0]}
        back = phone.post("/emulator/wechat/cgi-bin/mmpayweb-bin/pay", data=form)
        t.timed("GET /pay/{code} (back)", lambda: phone.get(back.headers["location"]))
        _until(lambda: _paid(phone, code, t), "paid")
        return time.perf_counter() - started


def history_cart(base: str, unit: dict[str, str], t: Timings) -> float:
    person = {"name": "郑淑华", "id_no": citizen_id(random.Random())}
    codes = [_register(base, unit, person, "GA0101"), _register(base, unit, person, "GA0102")]
    with httpx.Client(base_url=base, headers={"User-Agent": PHONE_UA}) as phone:
        started = time.perf_counter()
        proof = {"payment_code": codes[0], "name": person["name"]}
        t.timed("proof (code + name)", lambda: phone.post("/pay/history/by-code", data=proof))
        listing = t.timed("GET /pay/history", lambda: phone.get("/pay/history"))
        assert all(code in listing.text for code in codes)
        cart = t.timed(
            "cart (two)", lambda: phone.post("/pay/history/cart", data={"payment_codes": codes})
        )
        qr = re.search(r'data-qr-code="([^"]+)"', cart.text)
        assert qr is not None, cart.text
        httpx.post(f"{base}/emulator/alipay/scan", json={"qr_code": qr.group(1)}, timeout=30)
        _until(lambda: all(_paid(phone, code, t) for code in codes), "both paid")
        t.timed("logout", lambda: phone.post("/pay/history/logout"))
        return time.perf_counter() - started


JOURNEYS: dict[str, Callable[[str, dict[str, str], Timings], float]] = {
    "Alipay WAP (phone)": alipay_wap,
    "WeChat Pay H5 (phone)": wechat_h5,
    "history → cart of two": history_cart,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--journeys", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="pp-bench-portal-")
    proc = _start_demo(port, data_dir)
    base = f"http://127.0.0.1:{port}"
    try:
        info = json.loads((Path(data_dir) / "demo.json").read_text())
        unit = info["units"][0]
        warm = Timings()  # the first requests of a fresh process (imports, templates): not timed
        for run in JOURNEYS.values():
            run(base, unit, warm)
        t = Timings()
        times = {
            name: [run(base, unit, t) for _ in range(args.journeys)]
            for name, run in JOURNEYS.items()
        }
        _report(times, t)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def _report(times: dict[str, list[float]], t: Timings) -> None:
    n = len(next(iter(times.values())))
    print(f"\nPayer portal — wallet buttons and the history's cart ({n} journeys each; "
          "`publicpay demo`, SQLite, emulated wallets)\n")  # fmt: skip
    print("| measure | median | p95 | max | target |")
    print("|---|---:|---:|---:|---|")
    for name, values in times.items():
        verdict = "met" if _pct(values, 0.95) < 10 else "NOT met"
        print(
            f"| {name}, system time (s) | {statistics.median(values):.2f} | "
            f"{_pct(values, 0.95):.2f} | {max(values):.2f} | < 10 s ({verdict}) |"
        )
    for name, values in t.calls.items():
        ok = "met" if _pct(values, 0.95) <= 100 else "NOT met"
        print(
            f"| {name} (ms, n={len(values)}) | {statistics.median(values):.1f} | "
            f"{_pct(values, 0.95):.1f} | {max(values):.1f} | p95 ≤ 100 ms ({ok}) |"
        )


if __name__ == "__main__":
    main()
