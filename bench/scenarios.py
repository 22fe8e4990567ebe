"""The three HTTP scenarios as lists of pre-built requests, and what each answer must be."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from bench.channels import ChannelKeys
from bench.database import BenchDb
from bench.load import Expect, http_request
from publicpay.api.auth import sign
from publicpay.demo.seed import demo_payers

PAYABLES_PATH = "/api/v1/payables"
ITEMS = ("GA0101", "GA0102", "GA0103")  # the vehicle office's plates (fixed standards)


@dataclass(frozen=True)
class Scenario:
    key: str  # "register" | "alipay" | "wechat"
    title: str
    requests: list[bytes]
    expect: Expect


def registrations(db: BenchDb, host: str, count: int) -> Scenario:
    """Signed POST /api/v1/payables (Public contract): unique biz_no and nonce per request."""
    payers = demo_payers()
    built = []
    for n in range(count):
        payer = payers[n % len(payers)]
        body = json.dumps(
            {
                "biz_no": "BENCH" + uuid.uuid4().hex[:16].upper(),
                "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"]},
                "items": [{"item_code": ITEMS[n % len(ITEMS)], "quantity": 1 + n % 2}],
            },
            ensure_ascii=False,
        ).encode()
        stamp, nonce = str(int(time.time())), uuid.uuid4().hex
        headers = {
            "Content-Type": "application/json",
            "X-App-Id": db.app_id,
            "X-Timestamp": stamp,
            "X-Nonce": nonce,
            "X-Signature": sign(db.app_secret, "POST", PAYABLES_PATH, stamp, nonce, body),
        }
        built.append(http_request("POST", PAYABLES_PATH, host, body, headers))
    return Scenario("register", "register payable (signed API)", built, Expect(201))


def alipay_notifications(keys: ChannelKeys, host: str, orders: list[tuple[str, int]]) -> Scenario:
    path = "/api/v1/notify/alipay"
    built = []
    for order_no, amount_fen in orders:
        body, headers = keys.alipay_notification(order_no, amount_fen)
        built.append(http_request("POST", path, host, body, headers))
    return Scenario("alipay", "confirm payment: Alipay notify", built, Expect(200, b"success"))


def wechat_notifications(keys: ChannelKeys, host: str, orders: list[tuple[str, int]]) -> Scenario:
    path = "/api/v1/notify/wechat"
    built = []
    for order_no, amount_fen in orders:
        body, headers = keys.wechat_notification(order_no, amount_fen, f"http://{host}{path}")
        built.append(http_request("POST", path, host, body, headers))
    return Scenario("wechat", "confirm payment: WeChat Pay notify", built, Expect(204))
