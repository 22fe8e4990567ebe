"""Aggregate QR landing (聚合码): `GET /pay/a/{token}` tells the wallet by its User-Agent.

Alipay and UnionPay wallets are redirected (302) to the channel QR URL of a new order; WeChat gets
the JSAPI page whose bundle the wallet confirms; any other client gets a page listing the wallets
and the per-channel codes. The User-Agent patterns are documented in `services.payments.aggregate`.
Throttled per client address like every page opened by a payment code (api.rate_limits); each
wallet order spends the address's hourly order allowance.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publicpay.api.deps import container
from publicpay.api.rate_limits import anonymous_limits, client_address
from publicpay.bootstrap import Container
from publicpay.domain.errors import DomainError, NotFound, RateLimited, ValidationFailed
from publicpay.domain.money import format_yuan
from publicpay.domain.payments.carts import is_cart_no
from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.aggregate import (
    AGGREGATE_PATH,
    WALLET_NAMES,
    read_token,
    split_ref,
    wallet_of,
)
from publicpay.services.payments.carts import open_cart_for_wallet
from publicpay.services.payments.checkout import open_for_wallet, open_jsapi
from publicpay.web.portal import templates

router = APIRouter(include_in_schema=False)


@router.get(AGGREGATE_PATH + "{token}", response_class=HTMLResponse)
def aggregate_landing(
    request: Request, token: str, openid: str = "", c: Container = Depends(container)
) -> Response:
    limits, address = anonymous_limits(request), client_address(request)
    try:
        limits.lookup(address)
        code, source = split_ref(read_token(c.box, token, clock=c.clock))
    except RateLimited as exc:
        return _throttled(request, exc)
    except ValidationFailed as exc:
        limits.missed(address)
        return _page(request, "聚合码无效", exc.detail, status=410)
    wallet = wallet_of(request.headers.get("user-agent", ""))
    available = set(c.gateways.channels())
    if is_cart_no(code):  # several payables in one payment (a kiosk's cart): issue 13
        return _cart(request, c, code, wallet if wallet in available else None, openid)
    if wallet is None or wallet not in available:
        return _chooser(request, c, code, wallet)
    try:
        limits.order(address)
        if wallet is Channel.WECHAT:
            openid = openid or request.headers.get("x-wx-openid", "")
            if len(openid) > 128 or not openid.isprintable():
                return _page(request, "微信用户标识无效", "请在微信中重新扫码。", status=400)
            return _wechat(request, c, code, openid, source)
        opened = open_for_wallet(
            c.uow(), c.gateways, code, wallet, clock=c.clock, policy=c.payment_policy(),
            source=source,
        )  # fmt: skip
    except RateLimited as exc:
        return _throttled(request, exc)
    except NotFound:
        limits.missed(address)
        return _page(request, "缴款单不存在", "未找到该缴款单，请核对缴款码。", status=404)
    except DomainError as exc:
        return _page(request, "暂时无法支付", exc.detail, status=409)
    return RedirectResponse(opened.qr_code, status_code=302)


def _cart(
    request: Request, c: Container, cart_no: str, wallet: Channel | None, openid: str
) -> Response:
    """A cart's aggregate code: the first wallet to open it gets the cart's order."""
    if wallet is None:
        detail = "请使用支付宝、微信或云闪付扫描此二维码。"
        return _page(request, "请用手机钱包扫码", detail, status=200)
    limits, address = anonymous_limits(request), client_address(request)
    if wallet is Channel.WECHAT:
        openid = openid or request.headers.get("x-wx-openid", "")
        if not openid or len(openid) > 128 or not openid.isprintable():
            return _page(
                request, "请在微信中打开", "未获取到微信用户标识，请在微信中重新扫码。", status=400
            )
    try:
        limits.order(address)
        cart, opened = open_cart_for_wallet(
            c.uow(), c.gateways, cart_no, wallet, clock=c.clock, policy=c.payment_policy(),
            openid=openid if wallet is Channel.WECHAT else None,
        )  # fmt: skip
    except RateLimited as exc:
        return _throttled(request, exc)
    except DomainError as exc:
        return _page(request, "暂时无法支付", exc.detail, status=409)
    if wallet is not Channel.WECHAT:
        return RedirectResponse(opened, status_code=302)
    context = {
        "title": "微信支付",
        "amount": format_yuan(cart.amount_fen),
        "order_no": cart.cart_no,
        "payment_code": "",
        "bundle_json": opened.replace("<", "\\u003c"),
    }
    return templates.TemplateResponse(request, "wechat_pay.html", context)


def _wechat(
    request: Request, c: Container, code: str, openid: str, source: str | None = None
) -> Response:
    if not openid:
        detail = "未获取到微信用户标识（openid），请在微信中重新扫码。"
        return _page(request, "请在微信中打开", detail, status=400)
    jsapi = open_jsapi(
        c.uow(), c.gateways, code, openid, clock=c.clock, policy=c.payment_policy(), source=source
    )
    context = {
        "title": "微信支付",
        "amount": format_yuan(jsapi.order.amount_fen),
        "order_no": jsapi.order.order_no,
        "payment_code": code,
        "bundle_json": json.dumps(jsapi.bundle, ensure_ascii=False).replace("<", "\\u003c"),
    }
    return templates.TemplateResponse(request, "wechat_pay.html", context)


def _chooser(request: Request, c: Container, code: str, wallet: Channel | None) -> Response:
    channels = [ch for ch in c.gateways.channels() if ch in WALLET_NAMES]
    context = {
        "title": "请选择支付方式",
        "payment_code": code,
        "wallets": [WALLET_NAMES[ch] for ch in channels],
        "unsupported": WALLET_NAMES.get(wallet) if wallet else None,
    }
    return templates.TemplateResponse(request, "aggregate.html", context)


def _page(
    request: Request, title: str, detail: str, *, status: int, headers: dict[str, str] | None = None
) -> Response:
    context = {"title": title, "detail": detail}
    return templates.TemplateResponse(
        request, "aggregate_message.html", context, status_code=status, headers=headers
    )


def _throttled(request: Request, exc: RateLimited) -> Response:
    headers = {"Retry-After": str(exc.retry_after_s)}
    return _page(request, exc.title, exc.detail, status=429, headers=headers)
