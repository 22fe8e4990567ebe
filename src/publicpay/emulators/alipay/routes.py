"""HTTP face of the Alipay emulator. All paths are relative to where the app is mounted.

- `GET|POST /gateway.do`              the open-API gateway (form body and/or query string)
- `GET|POST /gateway.do?method=alipay.trade.wap.pay…`   手机网站支付: the cashier page (HTML)
- `POST /wap/pay` (form: token)        the payer confirms on the cashier page: paid, notified,
                                      303 to return_url with the signed synchronous return
- `GET /downloadBillFile.resource`    bill download (the URL the bill API hands out, 30 s)
- `POST /scan` {"qr_code"}            the payer's wallet scans and pays a precreated QR, or
                                      opens a merchant's aggregate QR URL as the Alipay client
                                      (User-Agent AlipayClient/…) and pays where it leads
- `POST /barcodes` {"needs_password"} mint a payer 付款码 (auth_code) for alipay.trade.pay
- `POST /faults`, `DELETE /faults`    switch faults on / clear them (test control)
- `GET /notifications`, `GET /trades/{out_trade_no}`   inspection for tests
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

from publicpay.emulators.alipay import wap
from publicpay.emulators.alipay.api import text
from publicpay.emulators.alipay.trades import BizError
from publicpay.emulators.notifier import Fault
from publicpay.emulators.wallet import (
    ALIPAY_USER_AGENT,
    AggregateRefused,
    follow_redirect,
    is_foreign_url,
)

if TYPE_CHECKING:
    from publicpay.emulators.alipay.emulator import AlipayEmulator

GATEWAY_PATH = "/gateway.do"
ALIPAY_QR_PREFIX = "https://qr.alipay.com/"


class ScanIn(BaseModel):
    qr_code: str


class BarcodeIn(BaseModel):
    needs_password: bool = False


class FaultIn(BaseModel):
    out_trade_no: str
    fault: Fault
    seconds: float | None = None


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def mount_root(request: Request) -> str:
    """Absolute URL of the mount point, e.g. http://host:port/emulator/alipay."""
    url = str(request.url).split("?", 1)[0]
    return url[: -len(GATEWAY_PATH)] if url.endswith(GATEWAY_PATH) else url.rstrip("/")


def build_app(emulator: AlipayEmulator) -> FastAPI:
    app = FastAPI(title="Alipay emulator (支付宝模拟器)", openapi_url=None, docs_url=None)

    @app.api_route(GATEWAY_PATH, methods=["GET", "POST"])
    async def gateway(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        if params.get("method") == wap.WAP_METHOD:  # a page method: the payer's browser
            return HTMLResponse(emulator.wap_page(params, mount_root(request)))
        answer = emulator.gateway(params, mount_root(request))
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        media = "application/json;charset=utf-8" if answer.status_code == 200 else "text/html"
        return Response(answer.body.encode("utf-8"), answer.status_code, media_type=media)

    @app.get("/cashier.css")
    def cashier_css() -> Response:
        return Response(wap.CASHIER_CSS, media_type="text/css")

    @app.post("/wap/pay")
    async def wap_pay(request: Request) -> Response:
        form = await request.form()
        token = form.get("token")
        try:
            target = emulator.wap_pay(token if isinstance(token, str) else "")
        except KeyError:
            return HTMLResponse(wap.error_page("INVALID_PAGE", "收银台页面已失效"), 404)
        except BizError as err:
            return HTMLResponse(wap.error_page(err.sub_code, err.sub_msg), 409)
        if not target:
            return HTMLResponse("<p id='alipay-paid'>支付成功</p>")
        return RedirectResponse(target, status_code=303)

    @app.get("/downloadBillFile.resource")
    def download_bill(token: str = "") -> Response:
        found = emulator.bill(token)
        if found is None:
            return problem(
                404, "账单链接无效或已过期", "bill download URL unknown or expired (30 s)"
            )
        name, data = found
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(data, media_type="application/oct-stream", headers=headers)

    @app.post("/scan")
    def scan(body: ScanIn) -> Response:
        qr_code = body.qr_code
        try:
            if is_foreign_url(qr_code, (ALIPAY_QR_PREFIX,)):  # a merchant's aggregate QR
                qr_code = follow_redirect(qr_code, ALIPAY_USER_AGENT)
            trade = emulator.scan(qr_code)
        except AggregateRefused as err:
            return problem(err.status, "聚合码无法支付", err.detail)
        except KeyError:
            return problem(404, "二维码无效", f"unknown qr_code {qr_code!r}")
        except BizError as err:
            return problem(409, err.sub_msg, "the order cannot be paid", code=err.sub_code)
        return JSONResponse(
            {
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "total_amount": text(trade.total_fen),
                "trade_status": trade.status,
            }
        )

    @app.post("/barcodes")
    async def barcodes(request: Request) -> Response:
        raw = await request.body()
        try:
            options = BarcodeIn.model_validate_json(raw) if raw.strip() else BarcodeIn()
        except ValidationError as err:
            return problem(422, "请求数据有误", str(err))
        return JSONResponse({"auth_code": emulator.mint_auth_code(options.needs_password)})

    @app.post("/faults")
    def add_fault(body: FaultIn) -> Response:
        emulator.faults.add(body.out_trade_no, body.fault, body.seconds)
        return JSONResponse({"faults": emulator.faults.listing()})

    @app.delete("/faults")
    def clear_faults(out_trade_no: str | None = None) -> Response:
        emulator.faults.clear(out_trade_no)
        return JSONResponse({"faults": emulator.faults.listing()})

    @app.get("/notifications")
    def notifications(out_trade_no: str | None = None) -> Response:
        deliveries = emulator.notifier.deliveries(out_trade_no)
        return JSONResponse([d.as_json() for d in deliveries])

    @app.get("/trades/{out_trade_no}")
    def trade(out_trade_no: str) -> Response:
        view = emulator.trade_view(out_trade_no)
        if view is None:
            return problem(404, "交易不存在", f"no trade {out_trade_no!r}")
        return JSONResponse(view)

    return app
