"""Alipay open-platform channel (支付宝开放平台, RSA2), implementing `ChannelGateway`.

Wire facts: common params app_id, method, format JSON, charset utf-8, sign_type RSA2, timestamp
(Asia/Shanghai `yyyy-MM-dd HH:mm:ss`), version 1.0, [notify_url], biz_content (compact JSON);
POSTed as a form to the gateway. Amounts are yuan strings on the wire, int fen here.

Mapping choices (documented for the services):
- code 10000 success; 10003 (trade.pay) → PENDING; 20000 → ChannelUnavailable; any other code →
  ChannelRejected(channel_code=sub_code or code), except ACQ.TRADE_NOT_EXIST which is NOT_FOUND
  for query/cancel and "nothing to close" for close.
- An answer that is not HTTP 200, not JSON, or not signed by the Alipay public key (including
  unsigned error answers) → ChannelUnavailable: nothing unverified is ever believed.
- trade_status WAIT_BUYER_PAY → PENDING; TRADE_SUCCESS/TRADE_FINISHED → SUCCEEDED; TRADE_CLOSED →
  REFUNDED when the trade had been paid (`send_pay_date` present), else CLOSED.
- Refunds carry no channel refund id at Alipay: `channel_refund_no` is None; the refund is found
  by (out_trade_no, out_request_no = refund_no). A refund query without refund data means "not
  refunded" → RefundState.FAILED with refund_fen 0 (retrying with the same refund_no is safe).
- Notifications: TRADE_SUCCESS/TRADE_FINISHED without `refund_fee` → PAYMENT/SUCCEEDED; with
  `refund_fee` (Alipay's refund notice) → REFUND/RefundState.SUCCEEDED, amount_fen = refund_fee
  (the trade's *cumulative* refunded amount), refund_no = out_biz_no; other statuses → PAYMENT
  with state PENDING/CLOSED (verified, but not a payment: callers act only on SUCCEEDED).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlencode

import httpx

from publicpay.adapters.channels.alipay_sign import (
    BadSignature,
    load_private_key,
    load_public_key,
    sign_request,
    verified_response,
    verify_notification,
)
from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, InvalidNotification
from publicpay.domain.money import InvalidAmount, Money
from publicpay.domain.payments.channels import (
    BarcodePayRequest,
    Channel,
    Notification,
    NotificationAck,
    NotificationKind,
    QrOrder,
    QrOrderRequest,
    RefundRequest,
    RefundResult,
    RefundState,
    TradeResult,
    TradeState,
)
from publicpay.services.ports import Clock

log = logging.getLogger(__name__)
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no DST since 1991
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_TIME_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
TRADE_STATES = {
    "WAIT_BUYER_PAY": TradeState.PENDING,
    "TRADE_SUCCESS": TradeState.SUCCEEDED,
    "TRADE_FINISHED": TradeState.SUCCEEDED,
    "TRADE_CLOSED": TradeState.CLOSED,
}
PAID_STATUSES = ("TRADE_SUCCESS", "TRADE_FINISHED")
NOT_EXIST = "ACQ.TRADE_NOT_EXIST"


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    app_private_key_pem: bytes
    alipay_public_key_pem: bytes
    gateway_url: str
    timeout_s: float = 5.0
    seller_id: str = ""  # the merchant PID; when set, notifications must carry it


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _fen(text: object, what: str) -> int:
    try:
        return Money.from_yuan(str(text)).fen
    except InvalidAmount:
        raise ValueError(f"{what} is not an amount: {text!r}") from None


def _shanghai_to_utc(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    head = text[:19]
    if not _TIME_SHAPE.fullmatch(head):  # what strptime(TIME_FORMAT) reads, a tenth the cost
        raise ValueError(f"time data {head!r} does not match format {TIME_FORMAT!r}")
    return datetime.fromisoformat(head).replace(tzinfo=SHANGHAI).astimezone(UTC)


def form_fields(text: str) -> list[tuple[str, str]]:
    """The fields of a form body (`application/x-www-form-urlencoded`) as `urllib.parse.parse_qsl(
    text, keep_blank_values=True, strict_parsing=True)` reads them — a field without "=" is a
    ValueError — for two thirds of its instructions: only what holds a "+" or "%" is decoded,
    with no per-field call through its generic layers (a test holds the two equal)."""
    if not text:
        return []
    pairs = []
    for field in text.split("&"):
        name, equals, value = field.partition("=")
        if not equals:
            raise ValueError(f"bad form field: {field!r}")
        pairs.append((_form_decoded(name), _form_decoded(value)))
    return pairs


def _form_decoded(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text) if "%" in text else text


def _unavailable(detail: str) -> ChannelUnavailable:
    return ChannelUnavailable(f"支付宝接口不可用 / Alipay unavailable: {detail}")


def _invalid(chinese: str, english: str) -> InvalidNotification:
    return InvalidNotification(f"{chinese} / {english}")


class AlipayGateway:
    channel = Channel.ALIPAY

    def __init__(
        self,
        config: AlipayConfig,
        client: httpx.Client | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self._private_key = load_private_key(config.app_private_key_pem)
        self._alipay_key = load_public_key(config.alipay_public_key_pem)
        self._owns_client = client is None
        self._client = client or httpx.Client()
        self._clock: Clock = clock or _SystemClock()

    def close_client(self) -> None:
        if self._owns_client:
            self._client.close()

    # -- wire -----------------------------------------------------------------------------

    def request_params(
        self, method: str, biz: Mapping[str, Any], notify_url: str = "", return_url: str = ""
    ) -> dict[str, str]:
        """The signed form for one API call (exposed for the SDK cross-check tests)."""
        params = {
            "app_id": self.config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": self._clock.now().astimezone(SHANGHAI).strftime(TIME_FORMAT),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        if notify_url:
            params["notify_url"] = notify_url
        if return_url:
            params["return_url"] = return_url
        return sign_request(params, self._private_key)

    def _call(self, method: str, biz: Mapping[str, Any], notify_url: str = "") -> dict[str, Any]:
        form = self.request_params(method, biz, notify_url)
        try:
            response = self._client.post(
                self.config.gateway_url, data=form, timeout=self.config.timeout_s
            )
        except httpx.TimeoutException:
            raise _unavailable(f"{method} timed out after {self.config.timeout_s}s") from None
        except httpx.HTTPError as exc:
            raise _unavailable(f"{method}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise _unavailable(f"{method} answered HTTP {response.status_code}")
        try:
            content = verified_response(response.text, method, self._alipay_key)
        except BadSignature as exc:
            log.warning("alipay %s: refused an unverifiable answer: %s", method, exc)
            raise _unavailable(f"{method} answer failed verification (验签失败): {exc}") from None
        code = str(content.get("code", ""))
        if code == "20000" or str(content.get("sub_code", "")).endswith("SYSTEM_ERROR"):
            raise _unavailable(f"{method} answered {code} {content.get('sub_code', '')}")
        return content

    @staticmethod
    def _reject(method: str, content: Mapping[str, Any]) -> ChannelRejected:
        code = str(content.get("sub_code") or content.get("code", ""))
        message = content.get("sub_msg") or content.get("msg") or ""
        return ChannelRejected(
            f"支付宝拒绝：{message} / Alipay refused {method}: {code}", channel_code=code
        )

    def _expect(self, method: str, content: Mapping[str, Any], *codes: str) -> None:
        if str(content.get("code")) not in (codes or ("10000",)):
            raise self._reject(method, content)

    # -- payments -------------------------------------------------------------------------

    def create_qr_order(self, request: QrOrderRequest) -> QrOrder:
        left_s = (request.expires_at - self._clock.now()).total_seconds()
        biz = {
            "out_trade_no": request.order_no,
            "total_amount": Money(request.amount_fen).to_yuan(),
            "subject": request.subject,
            "timeout_express": f"{max(1, math.ceil(left_s / 60))}m",
        }
        if self.config.seller_id:
            biz["seller_id"] = self.config.seller_id
        content = self._call("alipay.trade.precreate", biz, request.notify_url)
        self._expect("alipay.trade.precreate", content)
        qr_code = content.get("qr_code")
        if not isinstance(qr_code, str) or not qr_code:
            raise _unavailable("precreate answered without qr_code")
        return QrOrder(order_no=request.order_no, qr_code=qr_code, raw=content)

    def wap_pay_url(self, request: QrOrderRequest, return_url: str, quit_url: str) -> str:
        """手机网站支付 (alipay.trade.wap.pay): a page method, not a server call. The payer's
        browser is sent to the gateway with the signed parameters in the query string (the
        SDK's `pageExecute(request, "GET")`); Alipay shows its cashier (or opens the Alipay
        app), then sends the browser back to `return_url` and the result to `notify_url`.
        The same out_trade_no signed again opens the same trade (a second tap)."""
        biz: dict[str, Any] = {
            "out_trade_no": request.order_no,
            "total_amount": Money(request.amount_fen).to_yuan(),
            "subject": request.subject,
            "product_code": "QUICK_WAP_WAY",
            "quit_url": quit_url,
            "time_expire": request.expires_at.astimezone(SHANGHAI).strftime(TIME_FORMAT),
        }
        if self.config.seller_id:
            biz["seller_id"] = self.config.seller_id
        params = self.request_params(
            "alipay.trade.wap.pay", biz, request.notify_url, return_url=return_url
        )
        return f"{self.config.gateway_url}?{urlencode(params)}"

    def pay_barcode(self, request: BarcodePayRequest) -> TradeResult:
        biz = {
            "out_trade_no": request.order_no,
            "scene": "bar_code",
            "auth_code": request.auth_code,
            "subject": request.subject,
            "total_amount": Money(request.amount_fen).to_yuan(),
        }
        content = self._call("alipay.trade.pay", biz, request.notify_url)
        self._expect("alipay.trade.pay", content, "10000", "10003")
        state = TradeState.SUCCEEDED if content["code"] == "10000" else TradeState.PENDING
        return self._trade_result(request.order_no, state, content, "gmt_payment")

    def query(self, order_no: str) -> TradeResult:
        content = self._call("alipay.trade.query", {"out_trade_no": order_no})
        if content.get("sub_code") == NOT_EXIST:
            return TradeResult(order_no=order_no, state=TradeState.NOT_FOUND, raw=content)
        self._expect("alipay.trade.query", content)
        status = str(content.get("trade_status", ""))
        if status not in TRADE_STATES:
            raise _unavailable(f"query answered unknown trade_status {status!r}")
        state = TRADE_STATES[status]
        if state is TradeState.CLOSED and content.get("send_pay_date"):
            state = TradeState.REFUNDED
        return self._trade_result(order_no, state, content, "send_pay_date")

    def close(self, order_no: str) -> None:
        content = self._call("alipay.trade.close", {"out_trade_no": order_no})
        if content.get("sub_code") != NOT_EXIST:  # never created at Alipay: nothing to close
            self._expect("alipay.trade.close", content)

    def cancel(self, order_no: str) -> TradeResult:
        content = self._call("alipay.trade.cancel", {"out_trade_no": order_no})
        if content.get("sub_code") == NOT_EXIST:
            return TradeResult(order_no=order_no, state=TradeState.NOT_FOUND, raw=content)
        if content.get("retry_flag") == "Y":
            raise _unavailable(f"cancel asks to retry ({content.get('sub_code', '')})")
        self._expect("alipay.trade.cancel", content)
        state = TradeState.REFUNDED if content.get("action") == "refund" else TradeState.CLOSED
        trade_no = content.get("trade_no")
        return TradeResult(
            order_no=order_no,
            state=state,
            channel_trade_no=str(trade_no) if trade_no else None,
            raw=content,
        )

    def _trade_result(
        self, order_no: str, state: TradeState, content: Mapping[str, Any], paid_field: str
    ) -> TradeResult:
        try:
            amount = (
                _fen(content["total_amount"], "total_amount") if "total_amount" in content else None
            )
            paid_at = _shanghai_to_utc(content.get(paid_field))
        except ValueError as exc:
            raise _unavailable(f"unparsable answer: {exc}") from None
        trade_no = content.get("trade_no")
        return TradeResult(
            order_no=order_no,
            state=state,
            amount_fen=amount,
            channel_trade_no=str(trade_no) if trade_no else None,
            paid_at=paid_at if state is not TradeState.PENDING else None,
            raw=content,
        )

    # -- refunds --------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        biz = {
            "out_trade_no": request.order_no,
            "refund_amount": Money(request.refund_fen).to_yuan(),
            "out_request_no": request.refund_no,
            "refund_reason": request.reason,
        }
        content = self._call("alipay.trade.refund", biz)
        self._expect("alipay.trade.refund", content)
        return RefundResult(
            refund_no=request.refund_no,
            state=RefundState.SUCCEEDED,
            refund_fen=request.refund_fen,
            raw=content,
        )

    def query_refund(self, order_no: str, refund_no: str) -> RefundResult:
        biz = {"out_trade_no": order_no, "out_request_no": refund_no}
        content = self._call("alipay.trade.fastpay.refund.query", biz)
        self._expect("alipay.trade.fastpay.refund.query", content)
        amount = content.get("refund_amount")
        status = content.get("refund_status") or "REFUND_SUCCESS"
        if not amount or status != "REFUND_SUCCESS":
            return RefundResult(
                refund_no=refund_no, state=RefundState.FAILED, refund_fen=0, raw=content
            )
        try:
            refund_fen = _fen(amount, "refund_amount")
        except ValueError as exc:
            raise _unavailable(str(exc)) from None
        return RefundResult(refund_no, RefundState.SUCCEEDED, refund_fen, raw=content)

    # -- statements -----------------------------------------------------------------------

    def fetch_statement(self, day: date) -> bytes:
        """The day's trade bill (`<PID>0156_<yyyyMMdd>.csv.zip`, GBK CSVs inside) as bytes."""
        method = "alipay.data.dataservice.bill.downloadurl.query"
        content = self._call(method, {"bill_type": "trade", "bill_date": day.isoformat()})
        self._expect(method, content)
        url = content.get("bill_download_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _unavailable("bill query answered without bill_download_url")
        try:
            response = self._client.get(url, timeout=self.config.timeout_s)
        except httpx.HTTPError as exc:
            raise _unavailable(f"bill download: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200 or not response.content.startswith(b"PK"):
            raise _unavailable(f"bill download answered HTTP {response.status_code}, not a zip")
        return response.content

    # -- notifications --------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        fields = self._notification_fields(body)
        try:
            verify_notification(fields, self._alipay_key)
        except BadSignature as exc:
            log.warning("alipay notification refused: %s", exc)
            raise _invalid(
                "支付宝通知验签失败", f"Alipay notification signature invalid: {exc}"
            ) from None
        if fields.get("app_id") != self.config.app_id:
            raise _invalid(
                "通知的 app_id 不是本应用", f"app_id {fields.get('app_id')!r} is not ours"
            )
        if self.config.seller_id and fields.get("seller_id") != self.config.seller_id:
            raise _invalid(
                "通知的 seller_id 不符", f"seller_id {fields.get('seller_id')!r} is not ours"
            )
        for name in ("notify_id", "out_trade_no", "trade_status", "total_amount"):
            if not fields.get(name):
                raise _invalid(f"通知缺少字段 {name}", f"notification lacks {name}")
        try:
            return self._notification(fields)
        except ValueError as exc:
            raise _invalid("通知字段格式错误", f"malformed notification: {exc}") from None

    @staticmethod
    def _notification_fields(body: bytes) -> dict[str, str]:
        try:
            pairs = form_fields(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _invalid("通知不是 UTF-8 表单", "notification is not a UTF-8 form body") from None
        fields = dict(pairs)
        if len(fields) != len(pairs):
            raise _invalid("通知字段重复", "notification repeats a field")
        return fields

    def _notification(self, fields: Mapping[str, str]) -> Notification:
        status = fields["trade_status"]
        if status not in TRADE_STATES:
            raise ValueError(f"unknown trade_status {status!r}")
        common: dict[str, Any] = {
            "channel": Channel.ALIPAY,
            "notify_id": fields["notify_id"],
            "order_no": fields["out_trade_no"],
            "app_id": fields["app_id"],
            "channel_trade_no": fields.get("trade_no") or None,
            "paid_at": _shanghai_to_utc(fields.get("gmt_payment")),
            "raw": dict(fields),
        }
        if fields.get("refund_fee"):
            return Notification(
                kind=NotificationKind.REFUND,
                state=RefundState.SUCCEEDED,
                amount_fen=_fen(fields["refund_fee"], "refund_fee"),
                refund_no=fields.get("out_biz_no") or None,
                **common,
            )
        return Notification(
            kind=NotificationKind.PAYMENT,
            state=TRADE_STATES[status],
            amount_fen=_fen(fields["total_amount"], "total_amount"),
            **common,
        )

    def ack(self, ok: bool) -> NotificationAck:
        return NotificationAck(200, b"success" if ok else b"failure", "text/plain")
