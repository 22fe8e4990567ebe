"""The payer's wallet opening a merchant's aggregate QR (聚合码), shared by the emulators.

A real wallet that scans a code which is not its own channel's opens it as a web page in its
in-app browser, whose User-Agent names the app; the merchant's page then starts that channel's
flow. Each emulator's `/scan` does the same when handed an http(s) URL it did not issue: it GETs
the URL with its wallet's User-Agent (below, shaped like the real ones) without following
redirects, and pays what the answer leads to.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

ALIPAY_USER_AGENT = (
    "Mozilla/5.0 (Linux; U; Android 13; zh-CN; PublicPayEmulator Build/TQ3A) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 "
    "Mobile Safari/537.36 AlipayChannelId/5136 AlipayDefined(nt:WIFI,ws:393|0|2.75) "
    "AliApp(AP/10.5.36.8000) AlipayClient/10.5.36.8000 Language/zh-Hans Region/CN"
)
WECHAT_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 13; PublicPayEmulator Build/TQ3A; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin "
    "NetType/WIFI Language/zh_CN ABI/arm64"
)
UNIONPAY_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 (com.unionpay.chsp) (cordova 4.5.4) (updebug 0) "
    "(version 1009) (UnionPay/1.0 CloudPay) (clientVersion 309) (language zh_CN) (upHtml) "
    "(walletMode 00)"
)
TIMEOUT_S = 10.0
_WECHAT_BUNDLE = re.compile(
    r'<script type="application/json" id="wechat-pay-request">(.*?)</script>', re.S
)


class AggregateRefused(Exception):
    """The merchant's page did not lead to a payment this wallet can make."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def is_foreign_url(code: str, own_prefixes: tuple[str, ...]) -> bool:
    return code.startswith(("http://", "https://")) and not code.startswith(own_prefixes)


def follow_redirect(url: str, user_agent: str) -> str:
    """GET the aggregate page as this wallet; the channel URL it redirects to."""
    try:
        response = httpx.get(url, headers={"User-Agent": user_agent}, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise AggregateRefused(502, f"打开聚合码失败：{type(exc).__name__}") from exc
    return redirect_target(response)


def redirect_target(response: httpx.Response) -> str:
    location = str(response.headers.get("location", ""))
    if response.status_code not in (301, 302, 303, 307) or not location:
        raise AggregateRefused(409, f"聚合码页面未跳转到支付（HTTP {response.status_code}）")
    return location


async def wechat_bundle(url: str, openid: str) -> dict[str, Any]:
    """GET the aggregate page in WeChat's browser (openid as OAuth would give it); the JSAPI
    bundle the page hands to WeixinJSBridge."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            response = await client.get(
                url, params={"openid": openid}, headers={"User-Agent": WECHAT_USER_AGENT}
            )
    except httpx.HTTPError as exc:
        raise AggregateRefused(502, f"打开聚合码失败：{type(exc).__name__}") from exc
    found = _WECHAT_BUNDLE.search(response.text)
    if response.status_code != 200 or found is None:
        raise AggregateRefused(409, f"聚合码页面未发起微信支付（HTTP {response.status_code}）")
    try:
        bundle = json.loads(found.group(1))
    except ValueError as exc:
        raise AggregateRefused(409, "微信支付参数不是 JSON") from exc
    if not isinstance(bundle, dict):
        raise AggregateRefused(409, "微信支付参数不是 JSON 对象")
    return bundle
