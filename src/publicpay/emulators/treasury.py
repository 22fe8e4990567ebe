"""The emulated treasury (国库前置机): takes a 5408 voucher, checks it as CFCC ITFE does
(details sum to SumAmt, no zero total, every detail carries Hold1–Hold4 and a level, no budget
level paid in less than nothing: a 缴库单 pays in, giving back is 退库), and
answers its receipt (入库回执): confirmed (Result 1, XSumAmt = SumAmt), or — when told to by
`POST /faults {"mode": "fail"}` or when the voucher is invalid — returned (Result 0, Reason).

Mounted at /emulator/treasury: `POST /vouchers` (XML), `POST /faults`, `GET /vouchers`.
It parses with its own code: it is the other party, not the platform. When it confirms a voucher
the collecting bank transfers its sum out of the collection account (`on_confirmed(window id,
fen, payee)`: the emulated bank books the debit `CLEARING:<Id>` on its statement).
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel

BEIJING = ZoneInfo("Asia/Shanghai")


class FaultIn(BaseModel):
    mode: str = "confirm"  # confirm | fail


PAYEE = "国家金库（模拟）"
Confirmed = Callable[[str, int, str], object]  # (window id, fen, payee)


class TreasuryEmulator:
    def __init__(self, on_confirmed: Confirmed | None = None) -> None:
        self._lock = threading.Lock()
        self.mode = "confirm"
        self.received: list[str] = []
        self.confirmed: set[str] = set()
        self.on_confirmed = on_confirmed

    def answer(self, body: bytes) -> str:
        voucher_no, total, problem = self._check(body)
        with self._lock:
            self.received.append(voucher_no)
            fail = self.mode == "fail"
        if problem is None and fail:
            problem = "国库账户状态异常，暂停入库（模拟）"
        confirmed = problem is None
        if confirmed:
            self._transfer(body, voucher_no, total)
        return (
            '<?xml version="1.0" encoding="utf-8"?><MOF>'
            f'<VoucherBody VtCode="5408" VoucherNo="{voucher_no}"><Receipt>'
            f"<Result>{1 if confirmed else 0}</Result>"
            f"<XSumAmt>{total if confirmed else '0.00'}</XSumAmt>"
            f"<XAcctDate>{datetime.now(BEIJING):%Y%m%d}</XAcctDate>"
            f"<Reason>{problem or ''}</Reason>"
            "</Receipt></VoucherBody></MOF>"
        )

    def _transfer(self, body: bytes, voucher_no: str, total: str) -> None:
        """The bank moves the money once per voucher (a voucher sent again is answered again)."""
        with self._lock:
            first = voucher_no not in self.confirmed
            self.confirmed.add(voucher_no)
        if first and self.on_confirmed is not None:
            window_id = ET.fromstring(body).findtext("VoucherBody/Voucher/Id", "")  # noqa: S314
            self.on_confirmed(window_id, int(Decimal(total) * 100), PAYEE)

    @staticmethod
    def _check(body: bytes) -> tuple[str, str, str | None]:
        if b"<!DOCTYPE" in body:
            return "", "0.00", "报文含 DTD"
        try:
            root = ET.fromstring(body)  # noqa: S314 - DTDs refused above
        except ET.ParseError:
            return "", "0.00", "报文不是合法的 XML"
        vbody = root.find("VoucherBody")
        voucher = vbody.find("Voucher") if vbody is not None else None
        if vbody is None or voucher is None or vbody.get("VtCode") != "5408":
            return "", "0.00", "不是 5408 报文"
        voucher_no = vbody.get("VoucherNo", "")
        try:
            total = Decimal(voucher.findtext("SumAmt", ""))
            details = voucher.findall("DetailList/Detail")
            amounts = [Decimal(d.findtext("Amt", "")) for d in details]
        except InvalidOperation:
            return voucher_no, "0.00", "金额格式错误"
        if sum(amounts, Decimal(0)) != total:
            return voucher_no, "0.00", "明细金额之和与缴库金额不符"
        if total == 0 and len(details) <= 1:
            return voucher_no, "0.00", "缴库金额为零"
        for d in details:
            if not all((d.findtext(f"Hold{i}") or "").strip() for i in range(1, 5)):
                return voucher_no, "0.00", "明细缺少缴款识别码等必填项（Hold1–Hold4）"
        levels: dict[str, Decimal] = {}
        for d, amount in zip(details, amounts, strict=True):
            level = (d.findtext("Remark") or "").strip()
            levels[level] = levels.get(level, Decimal(0)) + amount
        below = sorted(level for level, amount in levels.items() if amount < 0)
        if below:
            return voucher_no, "0.00", f"预算级次 {'、'.join(below)} 缴库金额为负（退库须另行办理）"
        return voucher_no, f"{total:.2f}", None

    def create_app(self) -> FastAPI:
        app = FastAPI(title="国库前置机模拟器")

        @app.post("/vouchers")
        async def vouchers(request: Request) -> Response:
            body = await request.body()
            return Response(self.answer(body), media_type="application/xml")

        @app.post("/faults")
        def faults(fault: FaultIn) -> dict[str, str]:
            with self._lock:
                self.mode = "fail" if fault.mode == "fail" else "confirm"
            return {"mode": self.mode}

        @app.get("/vouchers")
        def received() -> dict[str, list[str]]:
            return {"vouchers": list(self.received)}

        return app
