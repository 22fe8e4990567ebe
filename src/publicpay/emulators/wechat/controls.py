"""Test and demo controls of the emulator (not part of WeChat Pay): the payer's wallet, the
tester's fault switches, and read-only views of notifications and trades."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from publicpay.emulators.notifier import Fault
from publicpay.emulators.wallet import AggregateRefused, wechat_bundle
from publicpay.emulators.wechat.crypto import AuthorizationError, check_pay_sign, random_text
from publicpay.emulators.wechat.state import ApiError, Trade

if TYPE_CHECKING:
    from publicpay.emulators.wechat.emulator import WechatPayEmulator


async def read_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, "PARAM_ERROR", "请求体不是合法的 JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "PARAM_ERROR", "请求体须为 JSON 对象")
    return data


def add_controls(app: FastAPI, emulator: WechatPayEmulator) -> None:
    ledger = emulator.ledger

    def paid(trade_no: str, state: str, transaction_id: str) -> JSONResponse:
        return JSONResponse(
            {"out_trade_no": trade_no, "trade_state": state, "transaction_id": transaction_id}
        )

    @app.post("/scan")
    async def scan(request: Request) -> JSONResponse:
        """The payer scans a Native code_url in WeChat and pays; a merchant's aggregate QR URL
        is opened in WeChat's browser and paid by JSAPI."""
        qr_code = str((await read_json(request)).get("qr_code", ""))
        if qr_code.startswith(("http://", "https://")):
            trade = await pay_aggregate(emulator, qr_code)
        else:
            trade = ledger.pay_qr(qr_code)
        emulator.notify_payment(trade)
        return paid(trade.out_trade_no, trade.trade_state, trade.transaction_id)

    @app.post("/jsapi/pay")
    async def jsapi_pay(request: Request) -> JSONResponse:
        """The payer confirms a JSAPI payment (getBrandWCPayRequest:ok)."""
        prepay_id = str((await read_json(request)).get("prepay_id", ""))
        trade = ledger.pay_jsapi(prepay_id)
        emulator.notify_payment(trade)
        return paid(trade.out_trade_no, trade.trade_state, trade.transaction_id)

    @app.post("/barcodes")
    async def barcodes(request: Request) -> JSONResponse:
        """A payer's 付款码; with needs_password the codepay waits (USERPAYING) until the
        merchant has queried `queries_to_pay` times (default 3)."""
        data = await read_json(request)
        queries = data.get("queries_to_pay")
        if queries is not None and (not isinstance(queries, int) or queries < 1):
            raise ApiError(400, "PARAM_ERROR", "queries_to_pay 须为正整数")
        code = ledger.issue_barcode(bool(data.get("needs_password", False)), queries)
        return JSONResponse({"auth_code": code})

    @app.post("/faults")
    async def add_fault(request: Request) -> JSONResponse:
        data = await read_json(request)
        try:
            fault = Fault(str(data.get("fault", "")).lower())
        except ValueError as exc:
            raise ApiError(400, "PARAM_ERROR", f"未知故障: {data.get('fault')!r}") from exc
        seconds = data.get("seconds")
        if seconds is not None and not isinstance(seconds, int | float):
            raise ApiError(400, "PARAM_ERROR", "seconds 须为数字")
        out_trade_no = str(data.get("out_trade_no") or "*")
        emulator.faults.add(out_trade_no, fault, None if seconds is None else float(seconds))
        return JSONResponse({"faults": emulator.faults.listing()})

    @app.delete("/faults")
    async def clear_faults(out_trade_no: str | None = None) -> JSONResponse:
        emulator.faults.clear(out_trade_no)
        return JSONResponse({"faults": emulator.faults.listing()})

    @app.get("/faults")
    async def list_faults() -> JSONResponse:
        return JSONResponse({"faults": emulator.faults.listing()})

    @app.get("/notifications")
    async def notifications(out_trade_no: str | None = None) -> JSONResponse:
        deliveries = emulator.notifier.deliveries(out_trade_no)
        return JSONResponse({"notifications": [d.as_json() for d in deliveries]})

    @app.get("/trades/{out_trade_no}")
    async def trade_view(out_trade_no: str) -> JSONResponse:
        with ledger.lock:
            found = [t for t in ledger.trades.values() if t.out_trade_no == out_trade_no]
            if not found:
                raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
            trade = found[0]
            view = {
                **trade.transaction(),
                "refunded": trade.refunded,
                "refunds": [ledger.refunds[(trade.mchid, no)].answer() for no in trade.refund_nos],
                "code_url": trade.code_url,
                "prepay_id": trade.prepay_id,
            }
        return JSONResponse(view)


async def pay_aggregate(emulator: WechatPayEmulator, url: str) -> Trade:
    """Open the page as WeChat would (with this payer's openid), check the JSAPI bundle the page
    hands to WeixinJSBridge — merchant, paySign, payer — and pay it."""
    openid = "o" + random_text(27)
    try:
        bundle = {k: str(v) for k, v in (await wechat_bundle(url, openid)).items()}
    except AggregateRefused as exc:
        raise ApiError(exc.status, "AGGREGATE_REFUSED", exc.detail) from exc
    prepay_id = bundle.get("package", "").removeprefix("prepay_id=")
    ledger = emulator.ledger
    with ledger.lock:
        trade = next((t for t in ledger.trades.values() if t.prepay_id == prepay_id), None)
        if trade is None:
            raise ApiError(404, "ORDER_NOT_EXIST", "prepay_id 无效")
        merchant = ledger.merchants[trade.mchid]
    if bundle.get("appId") != merchant.appid:
        raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appId 与下单时不一致")
    try:
        check_pay_sign(bundle, merchant.public_key_pem)
    except AuthorizationError as exc:
        raise ApiError(400, "SIGN_ERROR", str(exc)) from exc
    if trade.openid != openid:
        raise ApiError(400, "OPENID_MISMATCH", "下单的 openid 不是当前付款用户")
    return ledger.pay_jsapi(prepay_id)
