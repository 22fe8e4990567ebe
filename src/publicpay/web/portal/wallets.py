"""Wallet buttons of the pay page (issue 13): Alipay WAP, WeChat Pay H5, WeChat JSAPI.

- `POST /pay/{code}/wallet/alipay-wap`  → 303 to Alipay's gateway (signed alipay.trade.wap.pay);
  Alipay sends the browser back to `/pay/{code}?<its signed return parameters>`, and its
  notification pays.
- `POST /pay/{code}/wallet/wechat-h5`   → 303 to WeChat's h5_url with `&redirect_url=` (the pay
  page, `?back=wechat-h5`).
- `POST /pay/{code}/wallet/wechat-jsapi` (inside WeChat) → with the payer's openid (a cookie of
  ours, MAC'd and bound to the unit) the page with the signed getBrandWCPayRequest bundle;
  without it, 303 to `GET /pay/{code}/wallet/wechat-oauth`, which sends the browser to the
  公众号's silent OAuth2 (snsapi_base). WeChat comes back to `GET /pay/wechat/oauth?code&state`:
  the code is exchanged for the openid, the cookie set, and the JSAPI page shown.

Every refusal is a Chinese page with a way back to the pay page; nothing is charged twice (the
workflow reuses an order still open for the same payable, channel and method).
"""

from __future__ import annotations

import hmac
import json
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from publicpay.api.rate_limits import anonymous_limits, client_address
from publicpay.bootstrap import Container
from publicpay.domain.errors import (
    ChannelRejected,
    ChannelUnavailable,
    DomainError,
    NotFound,
    RateLimited,
)
from publicpay.domain.money import format_yuan
from publicpay.services.payments.wallets import (
    PayerBrowser,
    Wallet,
    WalletStart,
    open_wallet_order,
    wechat_wallet_for,
)
from publicpay.web.portal import find_payable, templates

router = APIRouter(include_in_schema=False)
OPENID_COOKIE = "pp_wx_openid"
OPENID_TTL = timedelta(hours=2)
STATE_TTL = timedelta(minutes=10)


def _container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


@router.post("/pay/{code}/wallet/{wallet}")
def wallet_pay(
    request: Request, code: str, wallet: str, c: Container = Depends(_container)
) -> Response:
    found = find_payable(request, c, code)
    if isinstance(found, Response):
        return found
    payable, _ = found
    try:
        kind = Wallet(wallet)
    except ValueError:
        return _message(request, code, "不支持的支付方式", "请返回缴款页面选择支付方式。", 404)
    openid = ""
    if kind is Wallet.WECHAT_JSAPI:
        openid = _openid(request, c, payable.unit_id)
        if not openid:
            return RedirectResponse(f"/pay/{code}/wallet/wechat-oauth", status_code=303)
    return _open(request, c, code, kind, openid)


@router.get("/pay/{code}/wallet/wechat-oauth")
def wechat_oauth(request: Request, code: str, c: Container = Depends(_container)) -> Response:
    found = find_payable(request, c, code)
    if isinstance(found, Response):
        return found
    try:
        _, gateway = wechat_wallet_for(c.read_uow(), c.gateways, code)
        target = gateway.oauth_url(_base(c) + "/pay/wechat/oauth", _state(c, code))
    except DomainError as exc:
        return _message(request, code, "暂时无法使用微信支付", exc.detail, 409)
    return RedirectResponse(target, status_code=302)


@router.get("/pay/wechat/oauth")
def wechat_oauth_back(
    request: Request, code: str = "", state: str = "", c: Container = Depends(_container)
) -> Response:
    payment_code = _read_state(c, state)
    if payment_code is None:
        detail = "微信授权已过期或无效，请返回缴款页面重新点击微信支付。"
        return _message(request, "", "微信授权无效", detail, 400)
    if not code or len(code) > 128:
        detail = "未获得微信授权，请返回缴款页面重新点击微信支付。"
        return _message(request, payment_code, "未完成微信授权", detail, 400)
    try:
        unit_id, gateway = wechat_wallet_for(c.read_uow(), c.gateways, payment_code)
        openid = gateway.oauth_openid(code)
    except (ChannelRejected, ChannelUnavailable):
        detail = "微信授权失败（授权码无效、已使用或已过期），请返回缴款页面重新点击微信支付。"
        return _message(request, payment_code, "微信授权失败", detail, 400)
    except DomainError as exc:
        return _message(request, payment_code, "暂时无法使用微信支付", exc.detail, 409)
    response = _open(request, c, payment_code, Wallet.WECHAT_JSAPI, openid)
    response.set_cookie(
        OPENID_COOKIE,
        _sealed_openid(c, unit_id, openid),
        max_age=int(OPENID_TTL.total_seconds()),
        path="/pay",
        httponly=True,
        samesite="lax",
        secure=_base(c).startswith("https://"),
    )
    return response


def _open(request: Request, c: Container, code: str, kind: Wallet, openid: str) -> Response:
    limits, address = anonymous_limits(request), client_address(request)
    page = f"{_base(c)}/pay/{code}"
    # Alipay appends its signed return parameters to return_url: ours would break their check
    back = page if kind is Wallet.ALIPAY_WAP else f"{page}?back={kind.value}"
    browser = PayerBrowser(back, address, openid)
    try:
        limits.order(address)
        start = open_wallet_order(
            c.uow(), c.gateways, code, kind, browser, clock=c.clock, policy=c.payment_policy()
        )
    except RateLimited as exc:
        return _message(request, code, exc.title, exc.detail, 429)
    except NotFound:
        return _message(request, code, "缴款单不存在", "未找到该缴款单，请核对缴款码。", 404)
    except ChannelUnavailable:
        detail = "支付渠道暂时无法连接，请稍后重试，或改用页面上的二维码支付。"
        return _message(request, code, "暂时无法支付", detail, 503)
    except DomainError as exc:
        return _message(request, code, "暂时无法支付", exc.detail, 409)
    if kind is Wallet.WECHAT_JSAPI:
        return _jsapi_page(request, code, start)
    return RedirectResponse(start.redirect_url, status_code=303)


def _jsapi_page(request: Request, code: str, start: WalletStart) -> Response:
    context = {
        "title": "微信支付",
        "amount": format_yuan(start.amount_fen),
        "order_no": start.order_no,
        "payment_code": code,
        "bundle_json": json.dumps(start.bundle, ensure_ascii=False).replace("<", "\\u003c"),
    }
    return templates.TemplateResponse(request, "wechat_pay.html", context)


def _message(request: Request, code: str, title: str, detail: str, status: int) -> Response:
    context = {"title": title, "detail": detail, "payment_code": code}
    return templates.TemplateResponse(
        request, "aggregate_message.html", context, status_code=status
    )


def _base(c: Container) -> str:
    return c.settings.public_base_url.rstrip("/")


def _mac(c: Container, purpose: str, body: str) -> str:
    return c.box.lookup_hash(f"{purpose}:{body}")[:24]


def _state(c: Container, payment_code: str) -> str:
    """OAuth2 `state`: the payment code, an expiry, a MAC (no table, nothing to forge)."""
    expires = int((c.clock.now() + STATE_TTL).timestamp())
    body = f"{payment_code}.{expires:x}"
    return f"{body}.{_mac(c, 'wx-oauth-state', body)}"


def _read_state(c: Container, state: str) -> str | None:
    body, _, mac = state.rpartition(".")
    code, _, expiry = body.partition(".")
    if not body or not hmac.compare_digest(_mac(c, "wx-oauth-state", body), mac):
        return None
    try:
        if int(expiry, 16) < c.clock.now().timestamp():
            return None
    except ValueError:
        return None
    return code


def _sealed_openid(c: Container, unit_id: int, openid: str) -> str:
    body = f"{unit_id}.{openid}"
    return f"{body}.{_mac(c, 'wx-openid', body)}"


def _openid(request: Request, c: Container, unit_id: int) -> str:
    """The payer's openid from our cookie, if it was given for this unit's 公众号."""
    value = request.cookies.get(OPENID_COOKIE, "")
    body, _, mac = value.rpartition(".")
    unit, _, openid = body.partition(".")
    if not body or not hmac.compare_digest(_mac(c, "wx-openid", body), mac):
        return ""
    return openid if unit == str(unit_id) and openid.isprintable() else ""
