"""HTTP routes of the emulated UnionPay, relative to where the main app mounts them
(`/emulator/unionpay`).

Gateway (ACP form posts, answers `k=v&...` signed): `POST /gateway/api/backTransReq.do`,
`POST /gateway/api/queryTrans.do`, `POST /gateway/api/fileTransRequest.do`.
Test/demo helpers (JSON): `POST /scan {"qr_code"}` plays the payer's UnionPay app (given a
merchant's aggregate QR URL, it opens it as 云闪付 — User-Agent `(UnionPay/1.0 CloudPay)` — and pays
the UnionPay QR the page redirects to);
`POST /barcodes {"needs_password"?: bool}` → `{"auth_code"}`; `POST /faults {"fault",
"order_id"?: "*", "seconds"?}`, `GET /faults`, `DELETE /faults[?order_id=]`;
`GET /notifications[?order_id=]`; `GET /trades/{order_id}`.

Faults apply to requests whose `orderId` matches (for 撤销/退货 that is the cancel's or the
refund's own orderId) or to every request with `"order_id": "*"`; notification faults apply to
the notification of that orderId's transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from publicpay.emulators.notifier import WILDCARD, Fault
from publicpay.emulators.unionpay.ledger import Refusal, Txn
from publicpay.emulators.wallet import (
    UNIONPAY_USER_AGENT,
    AggregateRefused,
    follow_redirect,
    is_foreign_url,
)

UNIONPAY_QR_PREFIX = "https://qr.95516.com/"

if TYPE_CHECKING:
    from publicpay.emulators.unionpay.emulator import Handler, UnionPayEmulator


class ScanIn(BaseModel):
    qr_code: str


class BarcodeIn(BaseModel):
    needs_password: bool = False


class FaultIn(BaseModel):
    fault: Fault
    order_id: str = WILDCARD
    seconds: float | None = None


def _trade_json(txn: Txn) -> dict[str, Any]:
    return {
        "mer_id": txn.mer_id,
        "order_id": txn.order_id,
        "txn_type": txn.txn_type,
        "txn_sub_type": txn.txn_sub_type,
        "txn_time": txn.txn_time,
        "query_id": txn.query_id,
        "orig_query_id": txn.orig_query_id,
        "state": txn.state,
        "amount_fen": txn.amount_fen,
        "refunded_fen": txn.refunded_fen,
        "cancelled": txn.cancelled,
        "qr_code": txn.qr_code,
        "settle_date": txn.settle_date.isoformat() if txn.settle_date else None,
    }


def _gateway_routes(app: FastAPI, emulator: UnionPayEmulator) -> None:
    async def run(request: Request, handle: Handler) -> PlainTextResponse:
        status, text = await emulator.answer(await request.body(), handle)
        return PlainTextResponse(text, status_code=status)

    @app.post("/gateway/api/backTransReq.do")
    async def back_trans(request: Request) -> PlainTextResponse:
        return await run(request, emulator.back_trans)

    @app.post("/gateway/api/queryTrans.do")
    async def query_trans(request: Request) -> PlainTextResponse:
        return await run(request, emulator.query_trans)

    @app.post("/gateway/api/fileTransRequest.do")
    async def file_trans(request: Request) -> PlainTextResponse:
        return await run(request, emulator.file_trans)


def _payer_routes(app: FastAPI, emulator: UnionPayEmulator) -> None:
    @app.post("/scan")
    def scan(body: ScanIn) -> dict[str, Any]:
        try:
            qr_code = body.qr_code
            if is_foreign_url(qr_code, (UNIONPAY_QR_PREFIX,)):  # a merchant's aggregate QR
                qr_code = follow_redirect(qr_code, UNIONPAY_USER_AGENT)
            txn = emulator.scan(qr_code)
        except AggregateRefused as err:
            raise HTTPException(err.status, {"code": "AGG", "message": err.detail}) from None
        except Refusal as refusal:
            status = 404 if refusal.code == "34" else 409
            detail = {"code": refusal.code, "message": refusal.message}
            raise HTTPException(status, detail) from None
        return {"status": "paid", **_trade_json(txn)}

    @app.post("/barcodes")
    def barcodes(body: BarcodeIn | None = None) -> dict[str, str]:
        needs_password = body.needs_password if body else False
        return {"auth_code": emulator.ledger.issue_code(needs_password=needs_password)}


def _tester_routes(app: FastAPI, emulator: UnionPayEmulator) -> None:
    @app.post("/faults")
    def add_fault(body: FaultIn) -> dict[str, Any]:
        emulator.faults.add(body.order_id, body.fault, body.seconds)
        return {"faults": emulator.faults.listing()}

    @app.get("/faults")
    def list_faults() -> dict[str, Any]:
        return {"faults": emulator.faults.listing()}

    @app.delete("/faults")
    def clear_faults(order_id: str | None = None) -> dict[str, Any]:
        emulator.faults.clear(order_id)
        return {"faults": emulator.faults.listing()}

    @app.get("/notifications")
    def notifications(order_id: str | None = None) -> dict[str, Any]:
        return {"notifications": [d.as_json() for d in emulator.deliveries(order_id)]}

    @app.get("/trades/{order_id}")
    def trade(order_id: str) -> dict[str, Any]:
        found = [t for t in emulator.ledger.all() if t.order_id == order_id]
        if not found:
            raise HTTPException(404, {"code": "34", "message": "查无此交易"})
        return _trade_json(found[0])


def build_app(emulator: UnionPayEmulator) -> FastAPI:
    app = FastAPI(title="UnionPay ACP emulator", docs_url=None, redoc_url=None)
    _gateway_routes(app, emulator)
    _payer_routes(app, emulator)
    _tester_routes(app, emulator)
    return app
