"""A protocol-faithful stand-in for Alipay's open-API server (支付宝开放平台), for tests and demos.

Merchant apps are registered with their RSA2 public key (as in Alipay's console); every request is
verified against it and every answer is signed with the emulator's own key (`public_key_pem` is
what the merchant configures as "支付宝公钥"). State is in memory behind one lock.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from publicpay.emulators.alipay import wap
from publicpay.emulators.alipay.api import (
    AlipayApi,
    Call,
    _amount,
    _expires_at,
    _required,
    shanghai,
    text,
)
from publicpay.emulators.alipay.bill import COLUMNS, bill_zip, detail_rows
from publicpay.emulators.alipay.signing import (
    content_to_sign,
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_pem,
    sign,
    signed_response,
    verify,
)
from publicpay.emulators.alipay.trades import (
    SHANGHAI,
    TRADE_CLOSED,
    TRADE_SUCCESS,
    BizError,
    NewOrder,
    Refund,
    Trade,
    TradeBook,
)
from publicpay.emulators.notifier import (
    DEFAULT_FAULT_SECONDS,
    Fault,
    FaultBook,
    Notifier,
    OutgoingRequest,
)

# First attempt at once, then 4m, 10m, 10m, 1h, 2h, 6h, 15h (8 notifications in ~25 h).
ALIPAY_NOTIFY_SCHEDULE_S = (0.0, 240.0, 600.0, 600.0, 3600.0, 7200.0, 21600.0, 54000.0)
BILL_URL_VALID_S = 30.0
MOUNT_PATH = "/emulator/alipay"  # where PublicPay mounts `create_app()`
_DIGITS = str.maketrans("abcdef", "012345")
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def alipay_acknowledged(response: httpx.Response) -> bool:
    """Alipay stops retrying only when the merchant prints exactly `success`."""
    return response.status_code == 200 and response.content == b"success"


@dataclass(frozen=True, slots=True)
class GatewayAnswer:
    status_code: int
    body: str
    delay_s: float = 0.0  # the TIMEOUT fault: hold the answer back this long


@dataclass(frozen=True, slots=True)
class _App:
    public_key: rsa.RSAPublicKey
    pid: str  # the merchant's 2088… partner id, also the seller_id


class AlipayEmulator:
    def __init__(
        self,
        *,
        private_key_pem: bytes | None = None,
        time_scale: float = 1.0,
        client_timeout_hint_s: float = 5.0,
        notify_transport: httpx.BaseTransport | None = None,
        password_polls: int = 2,
    ) -> None:
        self._key = load_private_key(private_key_pem or generate_private_key_pem())
        self.time_scale = time_scale
        self.client_timeout_hint_s = client_timeout_hint_s
        self.book = TradeBook(password_polls=password_polls)
        self.faults = FaultBook()
        self.notifier = Notifier(
            schedule=ALIPAY_NOTIFY_SCHEDULE_S,
            is_acknowledged=alipay_acknowledged,
            time_scale=time_scale,
            transport=notify_transport,
        )
        self.api = AlipayApi(self.book, self)
        self._apps: dict[str, _App] = {}
        self._bills: dict[str, tuple[str, date, float]] = {}
        self._wap: dict[str, wap.WapVisit] = {}  # cashier page token → the page's trade
        self._lock = threading.Lock()

    @property
    def public_key_pem(self) -> bytes:
        return public_pem(self._key)

    def signed(self, params: Mapping[str, str]) -> dict[str, str]:
        """`params` signed (RSA2) with the emulator's Alipay key, as its notifications are; tests
        forge notifications with it."""
        unsigned = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
        return {**unsigned, "sign": sign(content_to_sign(unsigned), self._key), "sign_type": "RSA2"}

    def register_app(self, app_id: str, app_public_key_pem: bytes, *, pid: str = "") -> None:
        """Like uploading the app's public key in Alipay's console. `pid` defaults to a random
        2088… partner id (the seller_id and the bill's account)."""
        key = load_public_key(app_public_key_pem)
        with self._lock:
            known = self._apps.get(app_id)
            if not pid:
                pid = known.pid if known else "2088" + secrets.token_hex(8)[:12].translate(_DIGITS)
            self._apps[app_id] = _App(key, pid)

    def pid(self, app_id: str) -> str:
        return self._apps[app_id].pid

    def create_app(self) -> FastAPI:
        """A FastAPI app to mount (PublicPay mounts it at /emulator/alipay)."""
        from publicpay.emulators.alipay.routes import build_app

        return build_app(self)

    def close(self) -> None:
        self.notifier.close()

    # -- the gateway ----------------------------------------------------------------------

    def gateway(self, params: Mapping[str, str], mount_root: str) -> GatewayAnswer:
        method = params.get("method", "")
        if method in self.api.methods:
            key = method.replace(".", "_") + "_response"
        else:
            key = "error_response"
        try:
            call = self._authenticate(params, method, mount_root)
        except BizError as err:
            return GatewayAnswer(200, self._sign_error(key, err))
        out_trade_no = str(call.biz.get("out_trade_no") or "") or None
        if self.faults.get(out_trade_no, Fault.ERROR_5XX):
            return GatewayAnswer(502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
        try:
            payload = self.api.methods[call.method](call)
        except BizError as err:
            body = self._sign_error(key, err)
        else:
            body = signed_response(key, payload, self._key)
        hang = self.faults.get(out_trade_no, Fault.TIMEOUT)
        if hang is None:
            return GatewayAnswer(200, body)
        default = max(DEFAULT_FAULT_SECONDS, self.client_timeout_hint_s + 1.0)
        return GatewayAnswer(200, body, hang.seconds_or(default))

    # -- 手机网站支付: the cashier page ---------------------------------------------------------

    def wap_page(self, params: Mapping[str, str], mount_root: str) -> str:
        """The page the payer's browser gets for a signed alipay.trade.wap.pay request."""
        try:
            call = self._authenticate(params, wap.WAP_METHOD, mount_root, page=True)
            if call.biz.get("product_code") != wap.PRODUCT_CODE:
                raise BizError("ACQ.INVALID_PARAMETER", "参数无效：product_code")
            seller = call.biz.get("seller_id")
            if seller and seller != self.pid(call.app_id):
                raise BizError("ACQ.INVALID_PARAMETER", "参数无效：seller_id")
            order = NewOrder(
                app_id=call.app_id,
                out_trade_no=_required(call, "out_trade_no"),
                total_fen=_amount(call, "total_amount"),
                subject=_required(call, "subject"),
                notify_url=call.notify_url,
                expires_at=_expires_at(call),
            )
            trade = self.book.precreate(order)
        except BizError as err:
            return wap.error_page(err.sub_code, err.sub_msg)
        visit = wap.WapVisit(
            call.app_id,
            trade.out_trade_no,
            params.get("return_url", ""),
            str(call.biz.get("quit_url") or ""),
        )
        token = wap.new_token()
        with self._lock:
            self._wap[token] = visit
        return wap.cashier_page(
            visit, token, subject=trade.subject, total_fen=trade.total_fen, mount_root=mount_root
        )

    def wap_pay(self, token: str) -> str:
        """The payer confirmed on the cashier page: pay, notify, and the return URL (signed
        return parameters) the browser is sent to. KeyError for an unknown page, BizError when
        the trade cannot be paid."""
        with self._lock:
            visit = self._wap[token]
        trade = self.book.find(visit.out_trade_no)
        if trade is None:
            raise KeyError(token)
        paid = self.scan(trade.qr_code)
        seller_id = self.pid(visit.app_id)
        params = wap.return_params(
            visit, trade_no=paid.trade_no, total_fen=paid.total_fen, seller_id=seller_id
        )
        return wap.return_url(visit, self.signed(params)) if visit.return_url else ""

    def _authenticate(
        self, params: Mapping[str, str], method: str, mount_root: str, *, page: bool = False
    ) -> Call:
        app = self._apps.get(params.get("app_id", ""))
        if app is None:
            raise BizError(
                "isv.invalid-app-id", "无效的AppID参数", code="40002", msg="Invalid Arguments"
            )
        signature = params.get("sign", "")
        if not signature:
            raise BizError(
                "isv.missing-signature",
                "缺少签名参数",
                code="40001",
                msg="Missing Required Arguments",
            )
        if params.get("sign_type") != "RSA2":
            raise BizError(
                "isv.invalid-signature-type",
                "无效的签名类型",
                code="40002",
                msg="Invalid Arguments",
            )
        message = content_to_sign(params)
        if not verify(message, signature, app.public_key):
            raise BizError(
                "isv.invalid-signature",
                f"验签出错，网关生成的验签字符串为：{message}",
                code="40002",
                msg="Invalid Arguments",
            )
        if method not in self.api.methods and not (page and method == wap.WAP_METHOD):
            raise BizError(
                "isv.invalid-method", "不存在的方法名", code="40002", msg="Invalid Arguments"
            )
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            raise BizError(
                "isv.invalid-parameter",
                "biz_content 不是 JSON 对象",
                code="40002",
                msg="Invalid Arguments",
            )
        return Call(params["app_id"], method, biz, params.get("notify_url", ""), mount_root)

    def _sign_error(self, key: str, err: BizError) -> str:
        payload = {
            "code": err.code,
            "msg": err.msg,
            "sub_code": err.sub_code,
            "sub_msg": err.sub_msg,
        }
        return signed_response(key, payload, self._key)

    # -- the payer's side -----------------------------------------------------------------

    def scan(self, qr_code: str) -> Trade:
        """The payer scans a QR and pays. KeyError when unknown, BizError when unpayable."""
        with self.book.lock:
            trade = self.book.find_by_qr(qr_code)
            after_close = bool(self.faults.get(trade.out_trade_no, Fault.SUCCEED_AFTER_CLOSE))
            trade = self.book.scan(qr_code, pay_after_close=after_close)
            self.notify_paid(trade)
            return trade

    def mint_auth_code(self, needs_password: bool = False) -> str:
        return self.book.mint_auth_code(needs_password)

    # -- hooks the API calls --------------------------------------------------------------

    def reported_fen(self, trade: Trade) -> int:
        return trade.total_fen + (
            1 if self.faults.get(trade.out_trade_no, Fault.AMOUNT_MISMATCH) else 0
        )

    def notify_paid(self, trade: Trade) -> None:
        assert trade.paid_at is not None
        paid = text(trade.total_fen)
        self._notify(
            trade,
            {
                "trade_status": TRADE_SUCCESS,
                "total_amount": text(self.reported_fen(trade)),
                "receipt_amount": paid,
                "invoice_amount": paid,
                "buyer_pay_amount": paid,
                "point_amount": "0.00",
                "gmt_payment": shanghai(trade.paid_at),
                "fund_bill_list": json.dumps(
                    [{"amount": paid, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
                ),
            },
        )

    def notify_refund(self, trade: Trade, refund: Refund) -> None:
        closed = trade.status == TRADE_CLOSED
        at = refund.at.astimezone(SHANGHAI)
        fields = {
            "trade_status": trade.status,
            "total_amount": text(self.reported_fen(trade)),
            "refund_fee": text(trade.refunded_fen),
            "out_biz_no": refund.out_request_no,
            "gmt_refund": at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}",
        }
        if trade.paid_at is not None:
            fields["gmt_payment"] = shanghai(trade.paid_at)
        if closed:
            fields["gmt_close"] = shanghai(refund.at)
        self._notify(trade, fields)

    def _notify(self, trade: Trade, fields: Mapping[str, str]) -> None:
        with self.book.lock:
            if trade.notify_url:
                self._dispatch_notification(trade, fields)

    def _dispatch_notification(self, trade: Trade, fields: Mapping[str, str]) -> None:
        params = {
            "notify_time": shanghai(datetime.now(UTC)),
            "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex,
            "app_id": trade.app_id,
            "auth_app_id": trade.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "gmt_create": shanghai(trade.created_at),
            "buyer_id": trade.buyer_id,
            "buyer_logon_id": trade.buyer_logon_id,
            "seller_id": self.pid(trade.app_id),
            "subject": trade.subject,
            **fields,
        }
        request = OutgoingRequest(
            trade.notify_url, urlencode(self.signed(params)).encode(), {"content-type": FORM}
        )
        no = trade.out_trade_no
        delay = self.faults.get(no, Fault.DELAY_NOTIFY)
        first_delay = delay.seconds_or(DEFAULT_FAULT_SECONDS) if delay else 0.0
        reorder = self.faults.get(no, Fault.REORDER_NOTIFY)
        if reorder and trade.notifications == 0:
            first_delay += reorder.seconds_or(DEFAULT_FAULT_SECONDS)
        trade.notifications += 1
        self.notifier.dispatch(
            request,
            key=no,
            first_delay_s=first_delay,
            duplicate=bool(self.faults.get(no, Fault.DUPLICATE_NOTIFY)),
            lose=bool(self.faults.get(no, Fault.LOSE_NOTIFY)),
        )

    # -- bills ----------------------------------------------------------------------------

    def bill_url(self, app_id: str, day: date, mount_root: str) -> str:
        token = secrets.token_hex(16)
        with self._lock:
            self._bills[token] = (app_id, day, time.monotonic() + BILL_URL_VALID_S)
        account = self.pid(app_id) + "0156"
        stamp = day.strftime("%Y%m%d")
        query = urlencode(
            {
                "bizType": "trade",
                "userId": account,
                "fileType": "csv.zip",
                "bizDates": stamp,
                "downloadFileName": f"{account}_{stamp}.csv.zip",
                "fileId": f"/trade/{account}/{stamp}",
                "timestamp": str(int(time.time() * 1000)),
                "token": token,
            }
        )
        return f"{mount_root}/downloadBillFile.resource?{query}"

    def bill(self, token: str) -> tuple[str, bytes] | None:
        """(file name, zip) for a download token still valid (30 s), else None."""
        with self._lock:
            entry = self._bills.get(token)
        if entry is None or time.monotonic() > entry[2]:
            return None
        app_id, day, _ = entry
        return bill_zip(self.pid(app_id), day, self.book.for_app(app_id), datetime.now(UTC))

    def settlement(self, app_id: str, day: date) -> int:
        """What Alipay pays the merchant's bank account for business day `day` (fen): the bill's
        商家实收 less its 服务费 (Alipay settles net of its fee)."""
        payments, refunds = detail_rows(self.book.for_app(app_id), day)
        received, fee = COLUMNS.index("商家实收（元）"), COLUMNS.index("服务费（元）")
        return sum(_fen(row[received]) + _fen(row[fee]) for row in [*payments, *refunds])

    def trade_view(self, out_trade_no: str) -> dict[str, Any] | None:
        trade = self.book.find(out_trade_no)
        if trade is None:
            return None
        with self.book.lock:
            return {
                "app_id": trade.app_id,
                "out_trade_no": trade.out_trade_no,
                "trade_no": trade.trade_no,
                "trade_status": trade.status,
                "total_amount": text(trade.total_fen),
                "refunded_amount": text(trade.refunded_fen),
                "subject": trade.subject,
                "qr_code": trade.qr_code,
                "notify_url": trade.notify_url,
                "buyer_id": trade.buyer_id,
                "gmt_payment": shanghai(trade.paid_at) if trade.paid_at else None,
                "refunds": [
                    {
                        "out_request_no": r.out_request_no,
                        "refund_amount": text(r.refund_fen),
                        "gmt_refund_pay": shanghai(r.at),
                        "reason": r.reason,
                    }
                    for r in trade.refunds.values()
                ],
            }


def _fen(yuan_text: str) -> int:
    sign = -1 if yuan_text.startswith("-") else 1
    whole, _, frac = yuan_text.lstrip("-").partition(".")
    return sign * (int(whole) * 100 + int((frac + "00")[:2]))
