"""Realistic demo activity on first start: business systems register payables over the signed
API, some payers pay through the emulated wallets and the bank teller, others have not paid yet.

Everything goes through the public HTTP interfaces, exactly as real systems and wallets would.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from publicpay.api.auth import sign
from publicpay.bootstrap import Container
from publicpay.demo.cash_office import seed_cash_office
from publicpay.domain.errors import DomainError
from publicpay.domain.refunds import Refund
from publicpay.services.refunds.approval import Approver, approve_refund
from publicpay.services.refunds.execution import run_due_refunds
from publicpay.services.refunds.requests import PayeeAccount, refund_payable

log = logging.getLogger("publicpay.demo")


@dataclass(frozen=True)
class Case:
    unit: int  # index into demo.json units
    items: tuple[tuple[str, int, int | None], ...]  # (item code, quantity, amount_fen)
    pay_with: str | None  # channel, "bank", or None (left unpaid for the demo user)
    due_in_days: int | None = None
    org: bool = False
    attributes: tuple[tuple[str, str], ...] = ()  # portal/POS (issue 13): plate, licence …
    phone: str | None = None  # portal (issue 13): the payer gets an SMS, not an app message


CASES = (
    Case(
        0,
        (("GA0101", 1, None), ("GA0105", 1, None), ("GA0108", 1, None)),
        "alipay",
        attributes=(("plate_no", "浙A·3K7P2"),),
        phone="13805710001",
    ),
    Case(0, (("GA0201", 1, None),), "wechat"),
    Case(0, (("GA0202", 1, None), ("GA0203", 1, None)), "unionpay"),
    Case(0, (("GA0104", 2, None),), "bank"),
    Case(0, (("FM0101", 1, 20000),), None, due_in_days=-5),  # overdue fine: late fee grows
    Case(0, (("FM0101", 1, 5000),), "alipay", due_in_days=15),
    Case(0, (("GA0107", 1, None),), None, attributes=(("plate_no", "浙A·5C8K2"),)),
    Case(1, (("GA0301", 1, None),), "alipay"),
    Case(1, (("GA0302", 1, None), ("GA0304", 1, None)), "wechat"),
    Case(1, (("GA0306", 1, None),), None),
    Case(2, (("JY0101", 1, None), ("JY0102", 1, None)), "alipay"),
    Case(2, (("JY0101", 1, None), ("JY0102", 1, None)), "wechat"),
    Case(2, (("JY0101", 1, None),), "bank"),
    Case(2, (("JY0101", 1, None), ("JY0102", 1, None)), None),
    Case(3, (("ZR0101", 1, None),), "unionpay"),
    Case(3, (("CG0101", 12, 24000),), None, org=True),
    Case(4, (("GZ0101", 1, 1_250_000),), "bank", org=True),
    # portal/POS (issue 13): vehicle-office business waiting at the window, found by plate
    Case(
        0,
        (("GA0101", 1, None), ("GA0105", 1, None)),
        None,
        attributes=(("plate_no", "浙A·8M6Q3"), ("case_no", "CG2026120600318")),
        phone="13805710002",
    ),
    Case(0, (("GA0104", 1, None),), None, attributes=(("plate_no", "浙A·2F9D1"),)),
)

ORG_PAYER = {"name": "杭州拱宸桥文化发展有限公司", "type": "org", "id_no": "91330105MA2CFR9T1R"}


class DemoActivity:
    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.http = httpx.Client(base_url=info["base_url"], timeout=20)

    def signed(self, unit: dict[str, Any], method: str, path: str, payload: Any = None) -> Any:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        ts, nonce = str(int(time.time())), uuid.uuid4().hex
        headers = {
            "X-App-Id": unit["app_id"],
            "X-Timestamp": ts,
            "X-Nonce": nonce,
            "X-Signature": sign(unit["app_secret"], method, path, ts, nonce, body),
            "Content-Type": "application/json",
        }
        response = self.http.request(method, path, content=body, headers=headers)
        response.raise_for_status()
        return response.json()

    def register(self, case: Case, payer: dict[str, str], n: int) -> str:
        unit = self.info["units"][case.unit]
        person = {"name": payer["name"], "type": "person", "id_no": payer["id_no"]}
        body: dict[str, Any] = {
            "biz_no": f"DEMO-{unit['code']}-{n:04d}",
            "payer": ORG_PAYER if case.org else person,
            "items": [
                {"item_code": code, "quantity": qty, **({"amount_fen": fen} if fen else {})}
                for code, qty, fen in case.items
            ],
        }
        if case.attributes:
            body["attributes"] = dict(case.attributes)
        if case.phone and not case.org:
            body["payer"] = {**person, "phone": case.phone}
        if case.due_in_days is not None:
            body["due_date"] = (date.today() + timedelta(days=case.due_in_days)).isoformat()
        return str(self.signed(unit, "POST", "/api/v1/payables", body)["payment_code"])

    # the kiosk (issue 13): the card on the simulated reader is the first demo payer's; two of
    # their payables of two units wait to be paid in one payment there (n clear of CASES)
    KIOSK_CASES = (
        Case(0, (("GA0102", 1, None),), None),
        Case(2, (("JY0102", 1, None),), None),
    )

    def kiosk_payables(self) -> None:
        for n, case in enumerate(self.KIOSK_CASES, start=901):
            self.register(case, self.info["payers"][0], n)

    def pay(self, code: str, channel: str) -> None:
        if channel == "bank":
            self.http.post("/emulator/bank/pay", json={"payment_code": code}).raise_for_status()
            return
        order = self.http.post(f"/api/v1/pay/{code}/orders", json={"channel": channel})
        order.raise_for_status()
        scan = self.http.post(
            f"/emulator/{channel}/scan", json={"qr_code": order.json()["qr_code"]}
        )
        scan.raise_for_status()

    def cash_payable(self, item_code: str) -> dict[str, Any]:
        """A payable of the vehicle office, to be paid in cash at the hall (the cash office)."""
        self.cash_serial = getattr(self, "cash_serial", 0) + 1
        unit, payer = (
            self.info["units"][0],
            self.info["payers"][self.cash_serial % len(self.info["payers"])],
        )
        body = {
            "biz_no": f"DEMO-CASH-{unit['code']}-{self.cash_serial:04d}",
            "payer": {"name": payer["name"], "type": "person", "id_no": payer["id_no"]},
            "items": [{"item_code": item_code, "quantity": 1}],
        }
        return dict(self.signed(unit, "POST", "/api/v1/payables", body))

    def already_seeded(self) -> bool:
        first = self.info["units"][0]
        try:
            self.signed(first, "GET", f"/api/v1/payables?biz_no=DEMO-{first['code']}-0001")
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404:
                return False
            raise
        return True

    def run(self) -> int:
        payers = itertools.cycle(self.info["payers"])
        done = 0
        self.paid_codes: list[str] = []
        for n, case in enumerate(CASES, start=1):
            code = self.register(case, next(payers), n)
            if case.pay_with:
                self.pay(code, case.pay_with)
                self.paid_codes.append(code)
            done += 1
        return done


# refunds (issue 11): (index into the paid payables, amount, reason, payee, approved)
DEMO_REFUNDS = (
    (8, 40_000, "学生退宿，按月退还住宿费", None, True),  # refunded through WeChat Pay
    (7, 20_000, "学生转学，退还部分住宿费", None, False),  # waiting for the reviewer
    (
        9,
        30_000,
        "柜台重复缴纳学费，退还多缴部分",
        PayeeAccount("王芳", "中国工商银行杭州西湖支行", "6222021234567890128"),
        True,
    ),  # approved, waiting for finance to record the bank transfer
)


def seed_refunds(container: Container, paid_codes: list[str]) -> None:
    """The school asks for refunds (its unit admin); the district's reviewer approves two: the
    worker refunds one through the channel (red-letter and replacement receipts follow), the
    other — a counter payment — waits for finance's bank transfer; the third waits for approval."""
    reviewer = Approver("user:fin_reviewer", container.settings.region_code)
    for index, amount, reason, payee, approve in DEMO_REFUNDS:
        if index >= len(paid_codes):
            continue
        refund = _ask_when_paid(container, paid_codes[index], amount, reason, payee)
        if refund is not None and approve:
            approve_refund(container.uow(), refund.refund_no, reviewer, "核对无误，同意退款",
                           clock=container.clock)  # fmt: skip


def _ask_when_paid(
    container: Container, code: str, amount: int, reason: str, payee: PayeeAccount | None
) -> Refund | None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the payment notification may still be on its way
        try:
            return refund_payable(
                container.uow(), code, amount, reason, actor="user:school_admin",
                clock=container.clock, policy=container.refund_policy(), payee=payee,
            )  # fmt: skip
        except DomainError:
            time.sleep(0.3)
    return None


def wait_until_up(base_url: str, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def seed_activity(info: dict[str, Any], container: Container | None = None) -> None:
    """Run once per demo database (the first payable's biz_no marks it); never fatal."""
    if not wait_until_up(info["base_url"]):
        return
    activity = DemoActivity(info)
    try:
        if activity.already_seeded():
            return
        count = activity.run()
        activity.kiosk_payables()  # devices and the kiosk (issue 13)
        if container is not None:
            seed_refunds(container, activity.paid_codes)
            try:  # the cash office: this morning's shifts at the hall
                seed_cash_office(container, activity.cash_payable)
            except DomainError as exc:
                log.warning("demo cash office incomplete: %s", exc.detail)
            seed_reconciliation(container, activity)  # reconciliation (issue 12)
        log.info("演示数据已生成：%s 笔缴款单", count)
    except httpx.HTTPError as exc:
        log.warning("demo activity incomplete: %s", exc)
    finally:
        activity.http.close()


# reconciliation (issue 12), the day of the Done-when: one more payment whose notification
# Alipay "loses", one payable paid twice (the payer scanned two codes: the second payment is
# refunded by the platform by itself), and — among the cases above — one refunded on request;
# then today's statements of every channel are fetched and matched, so the workbench opens on
# that day (the lost one shows as 长款 until finance recovers it there)
LOST_CASE = Case(0, (("GA0101", 1, None),), None)
TWICE_CASE = Case(1, (("GA0301", 1, None),), None)


def pay_twice(activity: DemoActivity, code: str) -> None:
    """Two codes opened for one payable, both scanned: the second payment is a duplicate."""
    opened = []
    for _ in range(2):
        order = activity.http.post(f"/api/v1/pay/{code}/orders", json={"channel": "alipay"})
        order.raise_for_status()
        opened.append(order.json()["qr_code"])
    for qr_code in opened:
        activity.http.post("/emulator/alipay/scan", json={"qr_code": qr_code}).raise_for_status()


def _wait_for_second_payment(container: Container, code: str, timeout_s: float = 20) -> None:
    """Until both notifications were applied (the duplicate's refund exists), so that the day
    is matched on what the platform knows."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with container.read_uow() as uow:
            payable = uow.payables.by_code(code)
            if payable is not None and uow.refunds.for_payable(payable.id):
                return
        time.sleep(0.2)


def seed_reconciliation(container: Container, activity: DemoActivity) -> None:
    from publicpay.adapters.reconciliation.engine import PolarsEngine
    from publicpay.domain.reconciliation import CHANNEL_SOURCES
    from publicpay.domain.time import business_date
    from publicpay.services.reconciliation.reconcile import reconcile_day

    try:
        code = activity.register(LOST_CASE, activity.info["payers"][1], 900)
        order = activity.http.post(f"/api/v1/pay/{code}/orders", json={"channel": "alipay"})
        order.raise_for_status()
        fault = {"out_trade_no": order.json()["order_no"], "fault": "lose_notify"}
        activity.http.post("/emulator/alipay/faults", json=fault).raise_for_status()
        qr = {"qr_code": order.json()["qr_code"]}
        activity.http.post("/emulator/alipay/scan", json=qr).raise_for_status()
        twice = activity.register(TWICE_CASE, activity.info["payers"][2], 903)
        pay_twice(activity, twice)
        _wait_for_second_payment(container, twice)
        # the day's refunds (the one asked for and approved, the second payment's) go out first
        notify_url = container.payment_policy().notify_url_for
        run_due_refunds(container.uow, container.gateways, clock=container.clock,
                        notify_url=notify_url)  # fmt: skip
        day = business_date(container.clock.now())
        engine, sources = PolarsEngine(), container.statement_sources()
        for source in CHANNEL_SOURCES:
            reconcile_day(container.uow, engine, sources, source, day, clock=container.clock)
    except (httpx.HTTPError, DomainError) as exc:
        log.warning("demo reconciliation incomplete: %s", exc)
