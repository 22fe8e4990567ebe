"""`WechatPayEmulator`: a protocol-faithful stand-in for api.mch.weixin.qq.com.

The PublicPay app mounts `create_app()` at `/emulator/wechat`; inside, the routes are the real
v3 paths (`/v3/pay/transactions/native` …), so an adapter's base_url is `<app>/emulator/wechat`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import secrets
import time
from datetime import date
from typing import Any

from fastapi import FastAPI

from publicpay.emulators.notifier import (
    DEFAULT_FAULT_SECONDS,
    Fault,
    FaultBook,
    Notifier,
    OutgoingRequest,
)
from publicpay.emulators.wechat import bill, notify
from publicpay.emulators.wechat.crypto import PlatformKey
from publicpay.emulators.wechat.ledger import Ledger
from publicpay.emulators.wechat.state import (
    CHINA,
    ApiError,
    Merchant,
    Refund,
    Trade,
    now_utc,
)
from publicpay.emulators.wechat.wallet_pages import OAuthBook

BILL_URL_TTL_S = 300


class WechatPayEmulator:
    def __init__(self, *, time_scale: float = 1.0) -> None:
        self.platform = PlatformKey()
        self.ledger = Ledger()
        self.oauth = OAuthBook()  # 公众号 web authorisation (OAuth2) of the merchants' appids
        self.faults = FaultBook()
        self.notifier = Notifier(
            schedule=notify.SCHEDULE_S,
            is_acknowledged=notify.acknowledged,
            time_scale=time_scale,
            transport=notify.ResigningTransport(self.platform),
        )
        self._bills: dict[str, tuple[str, bytes, float]] = {}  # token → (mchid, file, expiry)

    @property
    def platform_public_key_pem(self) -> bytes:
        return self.platform.public_pem

    @property
    def platform_public_key_id(self) -> str:
        return self.platform.key_id

    def register_merchant(
        self,
        mchid: str,
        appid: str,
        merchant_serial_no: str,
        merchant_public_key_pem: bytes,
        apiv3_key: str,
        *,
        app_secret: str = "",
    ) -> None:
        """`app_secret`: the AppSecret of the 公众号 `appid`, for its web authorisation."""
        if len(apiv3_key.encode("utf-8")) != 32:
            raise ValueError("apiv3_key must be 32 bytes")
        merchant = Merchant(mchid, appid, merchant_serial_no, merchant_public_key_pem, apiv3_key)
        with self.ledger.lock:
            self.ledger.merchants[mchid] = merchant
        if app_secret:
            self.oauth.register(appid, app_secret)

    def create_app(self) -> FastAPI:
        from publicpay.emulators.wechat.routes import build_app

        return build_app(self)

    def close(self) -> None:
        self.notifier.close()

    # -- faults ------------------------------------------------------------------------------

    async def api_faults(self, out_trade_no: str | None) -> None:
        """TIMEOUT: hang, then carry on; ERROR_5XX: answer 500 SYSTEM_ERROR without acting."""
        if self.faults.get(out_trade_no, Fault.ERROR_5XX):
            raise ApiError(500, "SYSTEM_ERROR", "系统错误")
        timeout = self.faults.get(out_trade_no, Fault.TIMEOUT)
        if timeout:
            await asyncio.sleep(timeout.seconds_or(DEFAULT_FAULT_SECONDS))

    def skew(self, out_trade_no: str) -> int:
        return 1 if self.faults.get(out_trade_no, Fault.AMOUNT_MISMATCH) else 0

    def transaction(self, trade: Trade) -> dict[str, Any]:
        return trade.transaction(self.skew(trade.out_trade_no))

    # -- notifications -----------------------------------------------------------------------

    def notify_payment(self, trade: Trade) -> None:
        if not trade.notify_url:
            return  # codepay has no notifications
        merchant = self.ledger.merchants[trade.mchid]
        request = notify.notification(
            self.platform,
            url=trade.notify_url,
            apiv3_key=merchant.apiv3_key,
            event_type="TRANSACTION.SUCCESS",
            summary="支付成功",
            original_type="transaction",
            resource=self.transaction(trade),
        )
        self._dispatch(request, trade.out_trade_no)

    def notify_refund(self, refund: Refund) -> None:
        if not refund.notify_url:
            return
        merchant = self.ledger.merchants[refund.mchid]
        request = notify.notification(
            self.platform,
            url=refund.notify_url,
            apiv3_key=merchant.apiv3_key,
            event_type=f"REFUND.{refund.status}",
            summary="退款成功" if refund.status == "SUCCESS" else "退款异常",
            original_type="refund",
            resource=refund.notice(),
        )
        self._dispatch(request, refund.out_trade_no)

    def _dispatch(self, request: OutgoingRequest, out_trade_no: str) -> None:
        delay = 0.0
        if setting := self.faults.get(out_trade_no, Fault.DELAY_NOTIFY):
            delay = setting.seconds_or(DEFAULT_FAULT_SECONDS)
        reorder = self.faults.get(out_trade_no, Fault.REORDER_NOTIFY)
        if reorder and not self.notifier.deliveries(out_trade_no):
            delay = max(delay, reorder.seconds_or(DEFAULT_FAULT_SECONDS))
        self.notifier.dispatch(
            request,
            key=out_trade_no,
            first_delay_s=delay,
            duplicate=self.faults.get(out_trade_no, Fault.DUPLICATE_NOTIFY) is not None,
            lose=self.faults.get(out_trade_no, Fault.LOSE_NOTIFY) is not None,
        )

    # -- bills -------------------------------------------------------------------------------

    def apply_bill(self, mchid: str, day: date, tar_type: str | None) -> tuple[str, str]:
        """Prepare the day's ALL bill; returns (token, SHA1 hex of the file to download)."""
        if day > now_utc().astimezone(CHINA).date():
            raise ApiError(400, "PARAM_ERROR", "账单日期非法，不能晚于今天")
        with self.ledger.lock:
            trades = [t for t in self.ledger.trades.values() if t.mchid == mchid]
            refunds = [r for r in self.ledger.refunds.values() if r.mchid == mchid]
        lines = bill.bill_lines(trades, refunds, day)
        if not lines:
            raise ApiError(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        content = bill.render(lines)
        if tar_type == "GZIP":
            content = gzip.compress(content, mtime=0)
        token = secrets.token_urlsafe(24)
        with self.ledger.lock:
            self._bills[token] = (mchid, content, time.monotonic() + BILL_URL_TTL_S)
        return token, hashlib.sha1(content).hexdigest()  # noqa: S324 - WeChat's checksum

    def settlement(self, mchid: str, day: date) -> int:
        """What WeChat Pay pays the merchant for business day `day` (fen): 应结订单金额 less
        退款金额 less 手续费 (settled net of the fee, T+1)."""
        with self.ledger.lock:
            trades = [t for t in self.ledger.trades.values() if t.mchid == mchid]
            refunds = [r for r in self.ledger.refunds.values() if r.mchid == mchid]
        lines = bill.bill_lines(trades, refunds, day)
        return sum(line.settled - line.refunded - line.fee for line in lines)

    def bill_file(self, mchid: str, token: str) -> bytes:
        with self.ledger.lock:
            entry = self._bills.get(token)
        if entry is None or entry[0] != mchid or entry[2] < time.monotonic():
            raise ApiError(400, "INVALID_REQUEST", "下载地址无效或已过期，请重新申请")
        return entry[1]
