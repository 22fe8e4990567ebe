"""HTTP face of the emulator: the real v3 paths plus test-only helpers (/scan, /faults …).

Every v3 call must carry a valid merchant `Authorization`; every v3 answer (errors included,
bill file excepted) is signed with the platform key in `Wechatpay-*` headers.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response

from publicpay.emulators.notifier import Fault
from publicpay.emulators.wechat.controls import add_controls
from publicpay.emulators.wechat.crypto import (
    AuthorizationError,
    check_authorization,
    parse_authorization,
)
from publicpay.emulators.wechat.state import ApiError, Merchant
from publicpay.emulators.wechat.wallet_pages import add_wallet_routes

if TYPE_CHECKING:
    from publicpay.emulators.wechat.emulator import WechatPayEmulator

TRADE = "/v3/pay/transactions/out-trade-no/{out_trade_no}"


class V3:
    """What every v3 route needs: merchant authentication and platform-signed answers."""

    def __init__(self, emulator: WechatPayEmulator) -> None:
        self.emulator = emulator
        self.ledger = emulator.ledger

    def signed(self, status: int, payload: Mapping[str, Any] | None) -> Response:
        body = b""
        if payload is not None:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Request-ID": secrets.token_hex(16), **self.emulator.platform.headers(body)}
        media = "application/json" if payload is not None else None
        return Response(body, status_code=status, headers=headers, media_type=media)

    async def merchant_of(self, request: Request) -> tuple[Merchant, bytes]:
        body = await request.body()
        try:
            fields = parse_authorization(request.headers.get("Authorization", ""))
            merchant = self.ledger.merchants.get(fields["mchid"])
            if merchant is None:
                raise AuthorizationError("商户号不存在")
            if fields["serial_no"] != merchant.serial_no:
                raise AuthorizationError("商户证书序列号有误")
            check_authorization(
                fields,
                merchant.public_key_pem,
                method=request.method,
                path_with_query=signed_path(request),
                body=body,
            )
        except AuthorizationError as exc:
            raise ApiError(401, "SIGN_ERROR", str(exc)) from exc
        return merchant, body

    async def authorised_json(self, request: Request) -> tuple[Merchant, dict[str, Any]]:
        merchant, body = await self.merchant_of(request)
        return merchant, json_body(body)

    async def create(self, request: Request, trade_type: str, answer_key: str) -> Response:
        merchant, body = await self.authorised_json(request)
        await self.emulator.api_faults(str(body.get("out_trade_no", "")) or None)
        trade = self.ledger.create_order(merchant, body, trade_type)
        return self.signed(200, {answer_key: trade.code_url or trade.prepay_id})


def check_mchid(request: Request, merchant: Merchant) -> None:
    if request.query_params.get("mchid") != merchant.mchid:
        raise ApiError(400, "PARAM_ERROR", "mchid 与 Authorization 中的商户号不一致")


def build_app(emulator: WechatPayEmulator) -> FastAPI:
    app = FastAPI(title="WeChat Pay v3 emulator", docs_url=None, redoc_url=None)
    v3 = V3(emulator)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return v3.signed(exc.status, {"code": exc.code, "message": exc.message})

    add_order_routes(app, v3)
    add_refund_and_bill_routes(app, v3)
    add_controls(app, emulator)
    add_wallet_routes(app, v3)
    return app


def add_order_routes(app: FastAPI, v3: V3) -> None:
    emulator, ledger, signed = v3.emulator, v3.ledger, v3.signed

    @app.post("/v3/pay/transactions/native")
    async def native(request: Request) -> Response:
        return await v3.create(request, "NATIVE", "code_url")

    @app.post("/v3/pay/transactions/jsapi")
    async def jsapi(request: Request) -> Response:
        return await v3.create(request, "JSAPI", "prepay_id")

    @app.post("/v3/pay/transactions/codepay")
    async def codepay(request: Request) -> Response:
        merchant, body = await v3.authorised_json(request)
        await emulator.api_faults(str(body.get("out_trade_no", "")) or None)
        trade = ledger.codepay(merchant, body)
        if trade.trade_state == "USERPAYING":
            return signed(202, {"code": "USERPAYING", "message": "用户支付中，需要输入密码"})
        return signed(200, emulator.transaction(trade))

    @app.get(TRADE)
    async def query(request: Request, out_trade_no: str) -> Response:
        merchant, _ = await v3.merchant_of(request)
        check_mchid(request, merchant)
        await emulator.api_faults(out_trade_no)
        return signed(200, emulator.transaction(ledger.query(merchant.mchid, out_trade_no)))

    @app.get("/v3/pay/transactions/id/{transaction_id}")
    async def query_by_id(request: Request, transaction_id: str) -> Response:
        merchant, _ = await v3.merchant_of(request)
        check_mchid(request, merchant)
        with ledger.lock:
            found = [t for t in ledger.trades.values() if t.transaction_id == transaction_id]
        if not found or found[0].mchid != merchant.mchid:
            raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        await emulator.api_faults(found[0].out_trade_no)
        return signed(200, emulator.transaction(found[0]))

    @app.post(TRADE + "/close")
    async def close(request: Request, out_trade_no: str) -> Response:
        merchant, body = await v3.authorised_json(request)
        if body.get("mchid") != merchant.mchid:
            raise ApiError(400, "PARAM_ERROR", "mchid 与 Authorization 中的商户号不一致")
        await emulator.api_faults(out_trade_no)
        anyway = emulator.faults.get(out_trade_no, Fault.SUCCEED_AFTER_CLOSE) is not None
        trade = ledger.close(merchant.mchid, out_trade_no, payer_pays_anyway=anyway)
        if anyway and trade.trade_state == "SUCCESS":
            emulator.notify_payment(trade)
        return signed(204, None)

    @app.post(TRADE + "/reverse")
    async def reverse(request: Request, out_trade_no: str) -> Response:
        merchant, body = await v3.authorised_json(request)
        if (body.get("mchid"), body.get("appid")) != (merchant.mchid, merchant.appid):
            raise ApiError(400, "PARAM_ERROR", "appid/mchid 与商户不一致")
        await emulator.api_faults(out_trade_no)
        ledger.reverse(merchant.mchid, out_trade_no)
        return signed(204, None)


def add_refund_and_bill_routes(app: FastAPI, v3: V3) -> None:
    emulator, ledger, signed = v3.emulator, v3.ledger, v3.signed

    @app.post("/v3/refund/domestic/refunds")
    async def refund(request: Request) -> Response:
        merchant, body = await v3.authorised_json(request)
        await emulator.api_faults(str(body.get("out_trade_no", "")) or None)
        record, answer = ledger.refund(merchant, body)
        if answer["status"] == "PROCESSING":
            emulator.notify_refund(record)
        return signed(200, answer)

    @app.get("/v3/refund/domestic/refunds/{out_refund_no}")
    async def refund_query(request: Request, out_refund_no: str) -> Response:
        merchant, _ = await v3.merchant_of(request)
        record = ledger.find_refund(merchant.mchid, out_refund_no)
        await emulator.api_faults(record.out_trade_no)
        return signed(200, record.answer())

    @app.get("/v3/bill/tradebill")
    async def tradebill(request: Request) -> Response:
        merchant, _ = await v3.merchant_of(request)
        await emulator.api_faults(None)
        params = request.query_params
        if params.get("bill_type", "ALL") != "ALL":
            raise ApiError(400, "PARAM_ERROR", "模拟器只提供 bill_type=ALL 的账单")
        if params.get("tar_type") not in (None, "GZIP"):
            raise ApiError(400, "PARAM_ERROR", "tar_type 只能为 GZIP")
        try:
            day = date.fromisoformat(params.get("bill_date", ""))
        except ValueError as exc:
            raise ApiError(400, "PARAM_ERROR", "bill_date 格式应为 yyyy-MM-dd") from exc
        token, digest = emulator.apply_bill(merchant.mchid, day, params.get("tar_type"))
        root = str(request.scope.get("root_path", "")).rstrip("/")
        url = str(request.url.replace(path=root + "/v3/billdownload/file", query=f"token={token}"))
        return signed(200, {"hash_type": "SHA1", "hash_value": digest, "download_url": url})

    @app.get("/v3/billdownload/file")
    async def bill_download(request: Request) -> Response:
        merchant, _ = await v3.merchant_of(request)
        content = emulator.bill_file(merchant.mchid, request.query_params.get("token", ""))
        return Response(content, media_type="application/octet-stream")


def signed_path(request: Request) -> str:
    """The path (+ query) the merchant signed: relative to where this app is mounted."""
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return path + (f"?{query}" if query else "")


def json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, "PARAM_ERROR", "请求体不是合法的 JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "PARAM_ERROR", "请求体须为 JSON 对象")
    return data
