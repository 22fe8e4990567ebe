"""Business rules of the emulated WeChat Pay: orders, codepay, close/reverse, refunds."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from publicpay.emulators.wechat.state import (
    DEFAULT_QUERIES_TO_PAY,
    ApiError,
    Merchant,
    Refund,
    Trade,
    digits,
    now_utc,
)

OUT_NO = re.compile(r"^[0-9A-Za-z_\-*|]{6,32}$")
AUTH_CODE = re.compile(r"^1[0-5]\d{16}$")


@dataclass(frozen=True)
class Barcode:
    needs_password: bool
    queries_to_pay: int


def not_found() -> ApiError:
    return ApiError(404, "ORDER_NOT_EXIST", "订单不存在")


def text_field(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(
            400, "PARAM_ERROR", f"输入源“/body/{name}”映射到字段“{name}”必填性规则校验失败"
        )
    return value


def total_field(body: Mapping[str, Any], name: str = "total") -> int:
    amount = body.get("amount")
    value = amount.get(name) if isinstance(amount, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ApiError(400, "PARAM_ERROR", f"amount.{name} 必须是正整数（单位：分）")
    currency = amount.get("currency", "CNY") if isinstance(amount, Mapping) else "CNY"
    if currency != "CNY":
        raise ApiError(400, "PARAM_ERROR", "仅支持人民币 CNY")
    return value


class Ledger:
    """All emulated state behind one lock; every method is one atomic WeChat Pay operation."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.merchants: dict[str, Merchant] = {}
        self.trades: dict[tuple[str, str], Trade] = {}
        self.refunds: dict[tuple[str, str], Refund] = {}
        self.barcodes: dict[str, Barcode] = {}
        self.used_codes: set[str] = set()

    # -- orders ------------------------------------------------------------------------------

    def create_order(self, merchant: Merchant, body: Mapping[str, Any], trade_type: str) -> Trade:
        self._check_parties(merchant, body)
        out_trade_no = self._out_trade_no(body)
        description, total = text_field(body, "description"), total_field(body)
        notify_url = text_field(body, "notify_url")
        if not notify_url.startswith(("https://", "http://")) or "?" in notify_url:
            raise ApiError(400, "PARAM_ERROR", "notify_url 必须是不带参数的 http(s) 地址")
        openid = ""
        if trade_type == "JSAPI":
            payer = body.get("payer")
            openid = text_field(payer if isinstance(payer, Mapping) else {}, "openid")
        with self.lock:
            existing = self.trades.get((merchant.mchid, out_trade_no))
            if existing is not None:
                return self._repeat(existing, trade_type, total, description)
            trade = Trade(
                merchant.mchid,
                merchant.appid,
                out_trade_no,
                trade_type,
                description,
                total,
                notify_url,
                now_utc(),
                time_expire=self._expiry(body),
                openid=openid,
            )
            if trade_type == "NATIVE":
                trade.code_url = "weixin://wxpay/bizpayurl?pr=" + secrets.token_urlsafe(6)[:7]
            else:
                trade.prepay_id = "wx" + trade.created_at.strftime("%d%H%M%S") + digits(24)
            self.trades[(merchant.mchid, out_trade_no)] = trade
            return trade

    def codepay(self, merchant: Merchant, body: Mapping[str, Any]) -> Trade:
        self._check_parties(merchant, body)
        out_trade_no = self._out_trade_no(body)
        description, total = text_field(body, "description"), total_field(body)
        payer = body.get("payer")
        auth_code = text_field(payer if isinstance(payer, Mapping) else {}, "auth_code")
        if not AUTH_CODE.match(auth_code):
            raise ApiError(400, "PARAM_ERROR", "付款码无效，请重新扫码")
        with self.lock:
            existing = self.trades.get((merchant.mchid, out_trade_no))
            if existing is not None:
                return self._repeat(existing, "MICROPAY", total, description)
            if auth_code in self.used_codes:
                raise ApiError(400, "PARAM_ERROR", "付款码已使用，请刷新后重新扫码")
            self.used_codes.add(auth_code)
            code = self.barcodes.pop(auth_code, Barcode(False, 0))
            trade = Trade(
                merchant.mchid,
                merchant.appid,
                out_trade_no,
                "MICROPAY",
                description,
                total,
                "",
                now_utc(),
            )
            if code.needs_password:
                trade.trade_state, trade.queries_to_pay = "USERPAYING", code.queries_to_pay
            else:
                trade.pay(now_utc())
            self.trades[(merchant.mchid, out_trade_no)] = trade
            return trade

    def issue_barcode(self, needs_password: bool, queries_to_pay: int | None) -> str:
        with self.lock:
            code = "1" + secrets.choice("012345") + digits(16)
            self.barcodes[code] = Barcode(needs_password, queries_to_pay or DEFAULT_QUERIES_TO_PAY)
            return code

    def trade(self, mchid: str, out_trade_no: str) -> Trade:
        trade = self.trades.get((mchid, out_trade_no))
        if trade is None:
            raise not_found()
        return trade

    def query(self, mchid: str, out_trade_no: str) -> Trade:
        """A query; a USERPAYING trade turns SUCCESS when its payer has 'typed the password'."""
        with self.lock:
            trade = self.trade(mchid, out_trade_no)
            if trade.trade_state == "USERPAYING" and trade.queries_to_pay is not None:
                trade.queries_to_pay -= 1
                if trade.queries_to_pay <= 0:
                    trade.pay(now_utc())
            return trade

    def close(self, mchid: str, out_trade_no: str, *, payer_pays_anyway: bool) -> Trade:
        with self.lock:
            trade = self.trade(mchid, out_trade_no)
            if trade.paid:
                raise ApiError(400, "ORDERPAID", "订单已支付，不能关闭")
            if trade.trade_state in ("CLOSED", "REVOKED"):
                return trade
            if payer_pays_anyway:
                trade.pay(now_utc())
            else:
                trade.trade_state = "CLOSED"
            return trade

    def reverse(self, mchid: str, out_trade_no: str) -> Trade:
        with self.lock:
            trade = self.trade(mchid, out_trade_no)
            if trade.trade_type != "MICROPAY":
                raise ApiError(400, "INVALID_REQUEST", "仅付款码支付订单可以撤销")
            if trade.trade_state == "REFUND":
                raise ApiError(400, "INVALID_REQUEST", "订单已发生退款，不能撤销")
            if trade.trade_state == "SUCCESS":
                trade.refunded = trade.total  # money goes back to the payer
            trade.trade_state = "REVOKED"
            trade.queries_to_pay = None
            return trade

    def pay_qr(self, code_url: str) -> Trade:
        """The payer's wallet scanned a Native code_url and paid."""
        with self.lock:
            trade = next((t for t in self.trades.values() if t.code_url == code_url), None)
            if trade is None:
                raise ApiError(404, "ORDER_NOT_EXIST", "二维码无效")
            return self._payer_pays(trade)

    def pay_jsapi(self, prepay_id: str) -> Trade:
        with self.lock:
            trade = next((t for t in self.trades.values() if t.prepay_id == prepay_id), None)
            if trade is None:
                raise ApiError(404, "ORDER_NOT_EXIST", "prepay_id 无效")
            return self._payer_pays(trade)

    # -- refunds -----------------------------------------------------------------------------

    def refund(self, merchant: Merchant, body: Mapping[str, Any]) -> tuple[Refund, dict[str, Any]]:
        """Apply for a refund; returns it and the answer (PROCESSING for a new refund)."""
        out_refund_no = text_field(body, "out_refund_no")
        refund_fen, total = total_field(body, "refund"), total_field(body)
        with self.lock:
            trade = self._refund_trade(merchant.mchid, body)
            existing = self.refunds.get((merchant.mchid, out_refund_no))
            if existing is not None:
                if existing.out_trade_no != trade.out_trade_no or existing.refund != refund_fen:
                    raise ApiError(400, "INVALID_REQUEST", "退款单号已用于其他退款")
                return existing, existing.answer()
            if not trade.paid or trade.trade_state == "REVOKED":
                raise ApiError(400, "INVALID_REQUEST", "订单未支付或已撤销，不能退款")
            if total != trade.total:
                raise ApiError(400, "INVALID_REQUEST", "订单金额与原订单不一致")
            if trade.refunded + refund_fen > trade.total:
                raise ApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            notify_url = body.get("notify_url")
            refund = Refund(
                merchant.mchid,
                trade.out_trade_no,
                trade.transaction_id,
                out_refund_no,
                refund_fen,
                trade.total,
                str(body.get("reason", "")),
                notify_url if isinstance(notify_url, str) else "",
                now_utc(),
            )
            answer = refund.answer()
            refund.status, refund.success_time = "SUCCESS", now_utc()
            trade.refunded += refund_fen
            trade.trade_state = "REFUND"
            trade.refund_nos.append(out_refund_no)
            self.refunds[(merchant.mchid, out_refund_no)] = refund
            return refund, answer

    def find_refund(self, mchid: str, out_refund_no: str) -> Refund:
        refund = self.refunds.get((mchid, out_refund_no))
        if refund is None:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return refund

    # -- internals ---------------------------------------------------------------------------

    def _check_parties(self, merchant: Merchant, body: Mapping[str, Any]) -> None:
        if text_field(body, "mchid") != merchant.mchid:
            raise ApiError(400, "PARAM_ERROR", "请求体 mchid 与 Authorization 中的商户号不一致")
        if text_field(body, "appid") != merchant.appid:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appid 和 mchid 不匹配")

    def _out_trade_no(self, body: Mapping[str, Any]) -> str:
        value = text_field(body, "out_trade_no")
        if not OUT_NO.match(value):
            raise ApiError(400, "PARAM_ERROR", "out_trade_no 须为 6-32 位字母、数字或 _-*|")
        return value

    def _expiry(self, body: Mapping[str, Any]) -> datetime | None:
        value = body.get("time_expire")
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ApiError(400, "PARAM_ERROR", "time_expire 须为 RFC 3339 时间") from exc
        if moment.tzinfo is None:
            raise ApiError(400, "PARAM_ERROR", "time_expire 须带时区")
        return moment

    def _repeat(self, trade: Trade, trade_type: str, total: int, description: str) -> Trade:
        """The same out_trade_no again: same parameters → same order, else refused."""
        if (trade.trade_type, trade.total, trade.description) != (trade_type, total, description):
            raise ApiError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
        if trade.trade_state in ("CLOSED", "REVOKED"):
            raise ApiError(400, "ORDER_CLOSED", "订单已关闭")
        if trade.paid and trade_type != "MICROPAY":
            raise ApiError(400, "ORDERPAID", "该订单已支付")
        return trade

    def _payer_pays(self, trade: Trade) -> Trade:
        if trade.paid:
            raise ApiError(400, "ORDERPAID", "该订单已支付")
        if trade.trade_state != "NOTPAY":
            raise ApiError(400, "ORDER_CLOSED", "订单已关闭")
        if trade.time_expire is not None and now_utc() > trade.time_expire:
            raise ApiError(400, "ORDER_CLOSED", "二维码已过期")
        trade.pay(now_utc())
        return trade

    def _refund_trade(self, mchid: str, body: Mapping[str, Any]) -> Trade:
        out_trade_no, transaction_id = body.get("out_trade_no"), body.get("transaction_id")
        for trade in self.trades.values():
            if trade.mchid == mchid and (
                trade.out_trade_no == out_trade_no
                or (transaction_id and trade.transaction_id == transaction_id)
            ):
                return trade
        raise ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
