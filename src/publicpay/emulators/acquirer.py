"""An emulated UnionPay acquirer's terminal host (收单机构 POS 前置) with its smart POS terminals'
card readers: the other party of `adapters/channels/card_terminal.py`. Protocol:
docs/card-terminal.md.

The platform starts a card-present sale on a window's terminal (`POST /terminal/sale` with the
merchant id, terminal id, our order number and the amount); the terminal asks for the card
(swipe, insert or tap) and the PIN, the host authorises it with the issuer and answers with the
response code (ISO 8583 field 39 as China UnionPay uses it), the authorisation code, the RRN
(retrieval reference number), the voucher (trace) and batch numbers and the masked card number.
`POST /terminal/query` finds a sale by our order number (after a lost answer: query before
retrying); `POST /terminal/void` voids a sale of the current batch (same day); `GET
/terminal/settlement` lists a day's approved and voided sales per terminal, and `GET
/terminal/settlement/file?mid=&date=&sign=` is the day's settlement file (docs/card-settlement.md:
GBK, `|`-separated, what settles — the sales it approved and nobody voided —, each with the
merchant discount fee the acquirer keeps) for reconciliation.

Every request and answer is signed: `sign` = upper-case hex SHA-256 of the fields other than
`sign` with a value, sorted by name, as `k=v` joined by `&`, then `&key=<the merchant's MAC key>`.
The emulator keeps its own signing code (it is the other party, not the platform).

For the demo and the tests, `POST /simulate/card` decides what the next sale at a terminal reads:
`{"tid", "entry"?: "tap"|"insert"|"swipe", "card_no"?, "result"?: "approve"|"insufficient_funds"|
"wrong_pin"|"expired"|"unreadable", "answer_after_s"?}` (`answer_after_s`: the host authorises
at once but its answer arrives that many seconds later — a lost answer when the platform's
timeout is shorter). Without one, the demo card lying on the reader is tapped and approved.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

BEIJING = ZoneInfo("Asia/Shanghai")
DEMO_CARD = "6222021234567890123"  # a 19-digit UnionPay debit card (the demo payer's)
READ_SECONDS = 0.8  # a tap and the PIN, before the host answers (× time_scale)

RESPONSES = {
    "00": "交易成功",
    "05": "不予承兑",
    "12": "无效交易",
    "14": "无效卡号",
    "25": "未能找到原始交易",
    "51": "余额不足",
    "54": "卡已过期",
    "55": "密码错误",
    "94": "重复交易",
    "A0": "签名校验失败",
    "E1": "读卡失败，请重新刷卡、插卡或挥卡",
}
ACQUIRER_NAME = "浙江收单服务有限公司（模拟）"
FEE_RATE_BP = 35  # the merchant discount rate (借记卡 0.35%), in basis points
FEE_CAP_FEN = 2000  # capped at 20 yuan a sale
RESULTS = {
    "approve": "00",
    "insufficient_funds": "51",
    "wrong_pin": "55",
    "expired": "54",
    "unreadable": "E1",
    "declined": "05",
}


def sign(fields: dict[str, Any], key: str) -> str:
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k] != "")
    return hashlib.sha256(f"{text}&key={key}".encode()).hexdigest().upper()


def fee_of(amount: int) -> int:
    """The acquirer's fee on a sale: the rate, rounded half up to the fen, capped."""
    return min((amount * FEE_RATE_BP + 5000) // 10000, FEE_CAP_FEN)


def mask(card_no: str) -> str:
    return f"{card_no[:6]}{'*' * (len(card_no) - 10)}{card_no[-4:]}"


@dataclass
class NextCard:
    entry: str = "tap"
    card_no: str = DEMO_CARD
    result: str = "approve"
    answer_after_s: float = 0.0


@dataclass
class Sale:
    mid: str
    tid: str
    out_order_no: str
    amount: int
    resp_code: str
    card_no: str
    entry: str
    rrn: str
    auth_code: str
    trace_no: str
    batch_no: str
    txn_time: datetime
    state: str  # approved | declined | voided
    void_order_no: str = ""


@dataclass
class CardTerminalEmulator:
    time_scale: float = 1.0
    merchants: dict[str, str] = field(default_factory=dict)  # mid -> MAC key
    next_cards: dict[str, NextCard] = field(default_factory=dict)  # tid -> what it reads next
    sales: dict[tuple[str, str], Sale] = field(default_factory=dict)  # (mid, out_order_no)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _trace: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def register_merchant(self, mid: str, key: str) -> None:
        with self.lock:
            self.merchants[mid] = key

    def present(self, tid: str, card: NextCard) -> None:
        with self.lock:
            self.next_cards[tid] = card

    # -- the host ----------------------------------------------------------------------------

    def sale(self, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """The answer and how long it takes to arrive (the card read, a lost answer)."""
        mid, tid, ref = (
            str(body.get("mid", "")),
            str(body.get("tid", "")),
            str(body.get("out_order_no", "")),
        )
        amount = body.get("amount")
        if not ref or not isinstance(amount, int) or amount <= 0 or len(tid) != 8:
            return self._refusal(body, "12"), 0.0
        with self.lock:
            if (mid, ref) in self.sales:
                return self._refusal(body, "94"), 0.0
            card = self.next_cards.pop(tid, NextCard())
            code = RESULTS.get(card.result, "05")
            now = datetime.now(BEIJING)
            sale = Sale(
                mid, tid, ref, amount, code, card.card_no, card.entry,
                rrn=f"{now:%H%M%S}{secrets.randbelow(10**6):06d}",
                auth_code=f"{secrets.randbelow(10**6):06d}" if code == "00" else "",
                trace_no=f"{next(self._trace) % 10**6:06d}",
                batch_no=f"{now:%y%m%d}"[1:] + "1",
                txn_time=now,
                state="approved" if code == "00" else "declined",
            )  # fmt: skip
            if code != "E1":  # an unreadable card never reaches the host
                self.sales[(mid, ref)] = sale
        delay = (READ_SECONDS + card.answer_after_s) * self.time_scale
        return self._answer(sale), delay

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            sale = self.sales.get((str(body.get("mid", "")), str(body.get("out_order_no", ""))))
        if sale is None:
            return self._refusal(body, "25")
        return self._answer(sale)

    def void(self, body: dict[str, Any]) -> dict[str, Any]:
        key = (str(body.get("mid", "")), str(body.get("out_order_no", "")))
        with self.lock:
            sale = self.sales.get(key)
            if sale is None:
                return self._refusal(body, "25")
            same_day = sale.txn_time.date() == datetime.now(BEIJING).date()
            if sale.state != "approved" or not same_day:
                return self._refusal(body, "12")
            sale.state, sale.void_order_no = "voided", str(body.get("void_order_no", ""))
        return self._answer(sale)

    def settlement(self, mid: str, day: str) -> list[dict[str, Any]]:
        with self.lock:
            sales = [s for s in self.sales.values() if s.mid == mid and s.state != "declined"]
        return [
            self._answer(s, signed=False)
            for s in sorted(sales, key=lambda s: s.txn_time)
            if f"{s.txn_time:%Y%m%d}" == day
        ]

    def settled(self, mid: str, day: str) -> list[Sale]:
        """What settles for `day` (yyyyMMdd): the sales approved that day nobody voided."""
        with self.lock:
            sales = [s for s in self.sales.values() if s.mid == mid and s.state == "approved"]
        return sorted((s for s in sales if f"{s.txn_time:%Y%m%d}" == day), key=lambda s: s.txn_time)

    def net_settlement(self, mid: str, day: date) -> int:
        """What the acquirer pays the merchant for `day` (fen): the sales less its fees."""
        return sum(s.amount - fee_of(s.amount) for s in self.settled(mid, f"{day:%Y%m%d}"))

    def settlement_file(self, mid: str, day: str) -> bytes:
        """The day's settlement file (docs/card-settlement.md): every sale of that day the host
        approved and nobody voided, with its fee; GBK, CRLF."""
        settled = self.settled(mid, day)
        records = [f"H|CARD-SETTLE|01|{mid}|{day}|{ACQUIRER_NAME}"]
        amount = fees = 0
        for s in settled:
            fee = fee_of(s.amount)
            amount, fees = amount + s.amount, fees + fee
            records.append(
                "|".join(
                    [
                        "D",
                        "01",
                        s.mid,
                        s.tid,
                        mask(s.card_no),
                        s.trace_no,
                        s.batch_no,
                        s.rrn,
                        s.auth_code,
                        f"{s.txn_time:%Y%m%d%H%M%S}",
                        str(s.amount),
                        str(fee),
                        str(s.amount - fee),
                        day,
                        s.out_order_no,
                    ]
                )
            )
        records.append(f"T|{len(settled)}|{amount}|{fees}|{amount - fees}")
        return ("\r\n".join(records) + "\r\n").encode("gbk")

    def _answer(self, sale: Sale, *, signed: bool = True) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "resp_code": sale.resp_code,
            "resp_msg": RESPONSES.get(sale.resp_code, "交易失败"),
            "mid": sale.mid,
            "tid": sale.tid,
            "out_order_no": sale.out_order_no,
            "amount": sale.amount,
            "currency": "156",
            "state": sale.state,
            "card_no": mask(sale.card_no),
            "card_org": "CUP",
            "entry_mode": sale.entry,
            "rrn": sale.rrn,
            "auth_code": sale.auth_code,
            "trace_no": sale.trace_no,
            "batch_no": sale.batch_no,
            "txn_time": f"{sale.txn_time:%Y%m%d%H%M%S}",
            "void_order_no": sale.void_order_no,
        }
        return self._signed(fields) if signed else fields

    def _refusal(self, body: dict[str, Any], code: str) -> dict[str, Any]:
        fields = {
            "resp_code": code,
            "resp_msg": RESPONSES.get(code, "交易失败"),
            "mid": str(body.get("mid", "")),
            "tid": str(body.get("tid", "")),
            "out_order_no": str(body.get("out_order_no", "")),
        }
        return self._signed(fields)

    def _signed(self, fields: dict[str, Any]) -> dict[str, Any]:
        key = self.merchants.get(str(fields.get("mid", "")), "")
        return {**fields, "sign": sign(fields, key)} if key else fields

    def check(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """A refusal for an unknown merchant or a bad signature (None: the request is good)."""
        key = self.merchants.get(str(body.get("mid", "")))
        if key is None or str(body.get("sign", "")) != sign(body, key):
            return {"resp_code": "A0", "resp_msg": RESPONSES["A0"]}
        return None

    # -- HTTP --------------------------------------------------------------------------------

    def create_app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        async def read(request: Request) -> dict[str, Any]:
            try:
                body = await request.json()
            except ValueError:
                return {}
            return body if isinstance(body, dict) else {}

        @app.post("/terminal/sale")
        async def sale(request: Request) -> JSONResponse:
            body = await read(request)
            refused = self.check(body)
            if refused:
                return JSONResponse(refused)
            answer, delay = self.sale(body)
            if delay:
                await anyio.sleep(delay)
            return JSONResponse(answer)

        @app.post("/terminal/query")
        async def query(request: Request) -> JSONResponse:
            body = await read(request)
            return JSONResponse(self.check(body) or self.query(body))

        @app.post("/terminal/void")
        async def void(request: Request) -> JSONResponse:
            body = await read(request)
            return JSONResponse(self.check(body) or self.void(body))

        @app.get("/terminal/settlement")
        def settlement(mid: str, date: str) -> JSONResponse:
            return JSONResponse({"mid": mid, "date": date, "lines": self.settlement(mid, date)})

        @app.get("/terminal/settlement/file")
        def settlement_file(mid: str, date: str, sign: str = "") -> Response:
            refused = self.check({"mid": mid, "date": date, "sign": sign})
            if refused:
                return JSONResponse(refused, status_code=403)
            if len(date) != 8 or not date.isdigit():
                return JSONResponse({"resp_code": "12", "resp_msg": RESPONSES["12"]}, 400)
            content = self.settlement_file(mid, date)
            name = f"{mid}_{date}_SETTLE.txt"
            return Response(
                content,
                media_type="text/plain; charset=GBK",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )

        @app.post("/simulate/card")
        async def simulate(request: Request) -> JSONResponse:
            body = await read(request)
            tid = str(body.get("tid", ""))
            if len(tid) != 8:
                return JSONResponse({"error": "tid: 8 digits"}, status_code=422)
            card = NextCard(
                entry=str(body.get("entry", "tap")),
                card_no=str(body.get("card_no", DEMO_CARD)),
                result=str(body.get("result", "approve")),
                answer_after_s=float(body.get("answer_after_s", 0.0)),
            )
            self.present(tid, card)
            return JSONResponse({"tid": tid, "next": card.__dict__})

        return app
