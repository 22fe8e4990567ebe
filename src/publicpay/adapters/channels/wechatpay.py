"""WeChat Pay API v3 channel (direct merchant, public-key mode) over httpx.

Requests carry `Authorization: WECHATPAY2-SHA256-RSA2048 …` signed with the merchant key; every
answer is checked against the platform public key (`Wechatpay-Serial` must be the configured
`PUB_KEY_ID_…`), except the bill file download, which is unsigned and checked by its SHA1 hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from publicpay.adapters.channels import wechatpay_sign as sign
from publicpay.domain.errors import ChannelRejected, ChannelUnavailable
from publicpay.domain.payments.channels import (
    BarcodePayRequest,
    Channel,
    Notification,
    NotificationAck,
    QrOrder,
    QrOrderRequest,
    RefundRequest,
    RefundResult,
    RefundState,
    TradeResult,
    TradeState,
)

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
NOTIFY_MAX_AGE_S = 300

TRADE_STATES = {
    "SUCCESS": TradeState.SUCCEEDED,
    "NOTPAY": TradeState.PENDING,
    "USERPAYING": TradeState.PENDING,
    "ACCEPT": TradeState.PENDING,
    "CLOSED": TradeState.CLOSED,
    "REVOKED": TradeState.CLOSED,
    "REFUND": TradeState.REFUNDED,
    "PAYERROR": TradeState.FAILED,
}
REFUND_STATES = {
    "SUCCESS": RefundState.SUCCEEDED,
    "PROCESSING": RefundState.PROCESSING,
    "ABNORMAL": RefundState.FAILED,
    "CLOSED": RefundState.FAILED,
}


@dataclass(frozen=True)
class WechatPayConfig:
    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_private_key_pem: bytes
    apiv3_key: str  # 32 characters
    platform_public_key_pem: bytes
    platform_public_key_id: str  # "PUB_KEY_ID_…"
    base_url: str  # "https://api.mch.weixin.qq.com" (or the emulator mount)
    timeout_s: float = 5.0
    codepay_poll_count: int = 10  # USERPAYING: query this many times…
    codepay_poll_interval_s: float = 3.0  # …this far apart, then reverse
    # The 公众号 of `appid`, for its web authorisation (OAuth2 snsapi_base → the payer's openid)
    app_secret: str = ""
    oauth_base_url: str = "https://open.weixin.qq.com"  # /connect/oauth2/authorize
    sns_base_url: str = "https://api.weixin.qq.com"  # /sns/oauth2/access_token


class WechatPayGateway:
    """`ChannelGateway` for WeChat Pay v3; `jsapi_prepay` is an extra for in-WeChat pages."""

    channel = Channel.WECHAT

    def __init__(self, config: WechatPayConfig, client: httpx.Client | None = None) -> None:
        if len(config.apiv3_key.encode("utf-8")) != 32:
            raise ValueError("apiv3_key must be 32 bytes")
        self.config = config
        self._base = config.base_url.rstrip("/")
        self._merchant_key = sign.load_private_key(config.merchant_private_key_pem)
        self._platform_key = sign.load_public_key(config.platform_public_key_pem)
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=config.timeout_s)

    def shutdown(self) -> None:
        """Close the HTTP client if this gateway created it (`close` is the order close)."""
        if self._own_client:
            self._client.close()

    # -- orders ------------------------------------------------------------------------------

    def create_qr_order(self, request: QrOrderRequest) -> QrOrder:
        data = self._call("POST", "/v3/pay/transactions/native", self._order_body(request))
        code_url = data.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ChannelUnavailable("微信支付下单应答缺少 code_url")
        return QrOrder(order_no=request.order_no, qr_code=code_url, raw=data)

    def jsapi_prepay(self, order: QrOrderRequest, openid: str) -> dict[str, str]:
        """JSAPI order; returns the bundle for `WeixinJSBridge.invoke('getBrandWCPayRequest')`."""
        return self.jsapi_bundle(self.jsapi_prepay_id(order, openid))

    def jsapi_prepay_id(self, order: QrOrderRequest, openid: str) -> str:
        """JSAPI order (/v3/pay/transactions/jsapi) for the payer `openid`: its prepay_id."""
        body = {**self._order_body(order), "payer": {"openid": openid}}
        data = self._call("POST", "/v3/pay/transactions/jsapi", body)
        prepay_id = data.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise ChannelUnavailable("微信支付下单应答缺少 prepay_id")
        return prepay_id

    def jsapi_bundle(self, prepay_id: str) -> dict[str, str]:
        """The signed parameters of getBrandWCPayRequest / chooseWXPay for a prepay_id:
        paySign = RSA-SHA256 over "appId\ntimeStamp\nnonceStr\npackage\n"."""
        timestamp, nonce = str(int(time.time())), sign.new_nonce()
        package = f"prepay_id={prepay_id}"
        pay_sign = sign.pay_sign(
            self._merchant_key,
            appid=self.config.appid,
            timestamp=timestamp,
            nonce=nonce,
            package=package,
        )
        return {
            "appId": self.config.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": pay_sign,
        }

    def h5_prepay(self, order: QrOrderRequest, client_ip: str) -> str:
        """H5 order (/v3/pay/transactions/h5) for a phone browser outside WeChat: the h5_url
        the browser is sent to (WeChat opens its app there; `&redirect_url=` brings the
        browser back afterwards)."""
        scene = {"payer_client_ip": client_ip, "h5_info": {"type": "Wap"}}
        data = self._call(
            "POST", "/v3/pay/transactions/h5", {**self._order_body(order), "scene_info": scene}
        )
        h5_url = data.get("h5_url")
        if not isinstance(h5_url, str) or not h5_url.startswith(("https://", "http://")):
            raise ChannelUnavailable("微信支付下单应答缺少 h5_url")
        return h5_url

    # -- 公众号 web authorisation (OAuth2, snsapi_base) --------------------------------------

    def oauth_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the payer's WeChat browser for a silent snsapi_base authorisation;
        WeChat comes back to `redirect_uri?code=…&state=…`."""
        if not self.config.app_secret:
            raise ChannelRejected(
                "微信公众号网页授权未配置（缺少 AppSecret）", channel_code="NO_OAUTH"
            )
        query = urlencode(
            {
                "appid": self.config.appid,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
            }
        )
        base = self.config.oauth_base_url.rstrip("/")
        return f"{base}/connect/oauth2/authorize?{query}#wechat_redirect"

    def oauth_openid(self, code: str) -> str:
        """Exchange the authorisation code (single use, 5 minutes) for the payer's openid."""
        params = {
            "appid": self.config.appid,
            "secret": self.config.app_secret,
            "code": code,
            "grant_type": "authorization_code",
        }
        url = self.config.sns_base_url.rstrip("/") + "/sns/oauth2/access_token"
        try:
            response = self._client.get(url, params=params, timeout=self.config.timeout_s)
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"微信网页授权连接失败: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise ChannelUnavailable(f"微信网页授权暂不可用: HTTP {response.status_code}")
        data = answer_json(response)
        openid = data.get("openid")
        if data.get("errcode") or not isinstance(openid, str) or not openid:
            code_text = str(data.get("errcode", ""))
            raise ChannelRejected(
                f"微信网页授权失败: {code_text} {data.get('errmsg', '')}".strip(),
                channel_code=code_text or "NO_OPENID",
            )
        return openid

    def pay_barcode(self, request: BarcodePayRequest) -> TradeResult:
        body = {
            "appid": self.config.appid,
            "mchid": self.config.mchid,
            "description": request.subject,
            "out_trade_no": request.order_no,
            "payer": {"auth_code": request.auth_code},
            "amount": {"total": request.amount_fen, "currency": "CNY"},
        }
        status, data = self._exchange("POST", "/v3/pay/transactions/codepay", body)
        if status == 200 and data.get("trade_state") not in (None, "USERPAYING"):
            return trade_result(request.order_no, data)
        return self._await_password(request.order_no)

    def query(self, order_no: str) -> TradeResult:
        path = f"/v3/pay/transactions/out-trade-no/{quote(order_no, safe='')}"
        path += f"?mchid={quote(self.config.mchid, safe='')}"
        status, data = self._exchange("GET", path, None, allow={"ORDER_NOT_EXIST"})
        if status == 404:
            return TradeResult(order_no=order_no, state=TradeState.NOT_FOUND, raw=data)
        return trade_result(order_no, data)

    def close(self, order_no: str) -> None:
        path = f"/v3/pay/transactions/out-trade-no/{quote(order_no, safe='')}/close"
        self._call("POST", path, {"mchid": self.config.mchid})

    def cancel(self, order_no: str) -> TradeResult:
        """付款码撤销 (reverse): refunds the payer if the trade was paid meanwhile."""
        path = f"/v3/pay/transactions/out-trade-no/{quote(order_no, safe='')}/reverse"
        data = self._call("POST", path, {"appid": self.config.appid, "mchid": self.config.mchid})
        return TradeResult(order_no=order_no, state=TradeState.CLOSED, raw=data)

    # -- refunds -----------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        body: dict[str, Any] = {
            "out_trade_no": request.order_no,
            "out_refund_no": request.refund_no,
            "reason": request.reason,
            "amount": {"refund": request.refund_fen, "total": request.total_fen, "currency": "CNY"},
        }
        if request.notify_url:
            body["notify_url"] = request.notify_url
        return refund_result(self._call("POST", "/v3/refund/domestic/refunds", body))

    def query_refund(self, order_no: str, refund_no: str) -> RefundResult:
        path = f"/v3/refund/domestic/refunds/{quote(refund_no, safe='')}"
        result = refund_result(self._call("GET", path, None))
        if result.raw.get("out_trade_no") not in (None, order_no):
            raise ChannelRejected(
                f"退款单 {refund_no} 不属于订单 {order_no}", channel_code="MISMATCH"
            )
        return result

    # -- statement ---------------------------------------------------------------------------

    def fetch_statement(self, day: date) -> bytes:
        """The trade bill (ALL) of `day` as CSV bytes; b"" when WeChat has none for that day."""
        path = f"/v3/bill/tradebill?bill_date={day.isoformat()}&bill_type=ALL"
        status, data = self._exchange("GET", path, None, allow={"NO_STATEMENT_EXIST"})
        if status != 200:
            return b""
        url, hash_type = str(data.get("download_url", "")), str(data.get("hash_type", ""))
        if hash_type.upper() != "SHA1" or not url:
            raise ChannelUnavailable(f"账单应答无法使用: hash_type={hash_type!r}")
        content = self._download(url)
        digest = hashlib.sha1(content).hexdigest()  # noqa: S324 - WeChat's own file checksum
        if not hmac.compare_digest(digest, str(data.get("hash_value", "")).lower()):
            raise ChannelUnavailable("微信支付账单文件 SHA1 校验失败")
        return content

    # -- notifications -----------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        return sign.parse_notification(
            headers,
            body,
            platform_key=self._platform_key,
            platform_key_id=self.config.platform_public_key_id,
            apiv3_key=self.config.apiv3_key,
            mchid=self.config.mchid,
            appid=self.config.appid,
            now=time.time(),
            max_age_s=NOTIFY_MAX_AGE_S,
        )

    def ack(self, ok: bool) -> NotificationAck:
        if ok:
            return NotificationAck(status_code=204, body=b"", media_type="application/json")
        body = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False)
        return NotificationAck(400, body.encode("utf-8"), "application/json")

    # -- internals ---------------------------------------------------------------------------

    def _order_body(self, request: QrOrderRequest) -> dict[str, Any]:
        expires = request.expires_at.astimezone(CHINA).isoformat(timespec="seconds")
        return {
            "appid": self.config.appid,
            "mchid": self.config.mchid,
            "description": request.subject,
            "out_trade_no": request.order_no,
            "time_expire": expires,
            "notify_url": request.notify_url,
            "amount": {"total": request.amount_fen, "currency": "CNY"},
        }

    def _await_password(self, order_no: str) -> TradeResult:
        """USERPAYING: poll the query a bounded number of times, then reverse if still unpaid."""
        for _ in range(self.config.codepay_poll_count):
            time.sleep(self.config.codepay_poll_interval_s)
            try:
                result = self.query(order_no)
            except ChannelUnavailable:
                continue
            if result.state not in (TradeState.PENDING, TradeState.NOT_FOUND):
                return result
        return self.cancel(order_no)

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        return self._exchange(method, path, body)[1]

    def _exchange(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        allow: frozenset[str] | set[str] = frozenset(),
    ) -> tuple[int, dict[str, Any]]:
        """Send a signed request; return (status, JSON) of a verified answer or raise."""
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body else ""
        response = self._send(method, self._base + path, path, text)
        self._verify_answer(response)
        data = answer_json(response)
        if response.status_code < 300:
            return response.status_code, data
        code, message = str(data.get("code", "")), str(data.get("message", ""))
        if code in allow:
            return response.status_code, data
        raise ChannelRejected(f"微信支付拒绝: {code} {message}".strip(), channel_code=code)

    def _send(self, method: str, url: str, signed_path: str, body: str) -> httpx.Response:
        authorization = sign.build_authorization(
            self._merchant_key,
            mchid=self.config.mchid,
            serial_no=self.config.merchant_serial_no,
            method=method,
            path_with_query=signed_path,
            body=body,
            timestamp=str(int(time.time())),
            nonce=sign.new_nonce(),
        )
        headers = {
            "Authorization": authorization,
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Wechatpay-Serial": self.config.platform_public_key_id,
            "User-Agent": "publicpay-wechatpay/1",
        }
        try:
            response = self._client.request(
                method,
                url,
                content=body.encode("utf-8") if body else None,
                headers=headers,
                timeout=self.config.timeout_s,
            )
        except httpx.TimeoutException as exc:
            raise ChannelUnavailable(f"微信支付请求超时: {method} {signed_path}") from exc
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"微信支付连接失败: {exc.__class__.__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelUnavailable(
                f"微信支付暂不可用: HTTP {response.status_code} {response.text[:200]}"
            )
        return response

    def _verify_answer(self, response: httpx.Response) -> None:
        """2xx answers must be signed by the platform key; error answers, if signed."""
        headers = response.headers
        if response.status_code >= 300 and "Wechatpay-Signature" not in headers:
            return
        serial = headers.get("Wechatpay-Serial", "")
        if serial != self.config.platform_public_key_id:
            raise ChannelUnavailable(f"微信支付应答的 Wechatpay-Serial 不符: {serial!r}")
        valid = sign.verify_platform_signature(
            self._platform_key,
            timestamp=headers.get("Wechatpay-Timestamp", ""),
            nonce=headers.get("Wechatpay-Nonce", ""),
            body=response.content,
            signature=headers.get("Wechatpay-Signature", ""),
        )
        if not valid:
            raise ChannelUnavailable("微信支付应答签名验证失败")

    def _download(self, url: str) -> bytes:
        """Signed GET of a bill file; the answer is not signed (its hash is checked instead)."""
        if url.startswith(self._base + "/"):
            signed_path = url[len(self._base) :]
        else:
            parts, base = urlsplit(url), urlsplit(self._base)
            if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
                raise ChannelUnavailable(f"账单下载地址不在微信支付域名下: {url}")
            signed_path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = self._send("GET", url, signed_path, "")
        if response.status_code != 200:
            raise ChannelUnavailable(f"微信支付账单下载失败: HTTP {response.status_code}")
        return response.content


def answer_json(response: httpx.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError as exc:
        raise ChannelUnavailable(f"微信支付应答不是 JSON: HTTP {response.status_code}") from exc
    if not isinstance(data, dict):
        raise ChannelUnavailable("微信支付应答不是 JSON 对象")
    return data


def trade_result(order_no: str, data: Mapping[str, Any]) -> TradeResult:
    raw_state = str(data.get("trade_state", ""))
    if raw_state not in TRADE_STATES:
        raise ChannelUnavailable(f"未知的微信支付交易状态: {raw_state!r}")
    amount = data.get("amount")
    total = amount.get("total") if isinstance(amount, Mapping) else None
    return TradeResult(
        order_no=str(data.get("out_trade_no") or order_no),
        state=TRADE_STATES[raw_state],
        amount_fen=total if isinstance(total, int) else None,
        channel_trade_no=data.get("transaction_id") or None,
        paid_at=parse_time(data.get("success_time")),
        raw=dict(data),
    )


def refund_result(data: Mapping[str, Any]) -> RefundResult:
    raw_status = str(data.get("status", ""))
    amount = data.get("amount")
    refund = amount.get("refund") if isinstance(amount, Mapping) else None
    if raw_status not in REFUND_STATES or not isinstance(refund, int):
        raise ChannelUnavailable(f"微信支付退款应答无法识别: status={raw_status!r}")
    return RefundResult(
        refund_no=str(data.get("out_refund_no", "")),
        state=REFUND_STATES[raw_status],
        refund_fen=refund,
        channel_refund_no=data.get("refund_id") or None,
        raw=dict(data),
    )


def parse_time(value: object) -> datetime | None:
    """RFC 3339 with offset (`2026-11-22T10:34:56+08:00`) → aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    return parsed.astimezone(UTC)
