"""The channels' side of the bench: their keys, and notifications built and signed exactly as the
emulators build and sign them (their own functions, reused), ready to POST to PublicPay."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from publicpay.demo.emulated import Emulators
from publicpay.emulators.alipay import AlipayEmulator
from publicpay.emulators.alipay.api import shanghai, text
from publicpay.emulators.alipay.emulator import FORM
from publicpay.emulators.alipay.signing import (
    content_to_sign,
    generate_private_key_pem,
    load_private_key,
    sign,
)
from publicpay.emulators.alipay.trades import TRADE_SUCCESS
from publicpay.emulators.unionpay import UnionPayEmulator
from publicpay.emulators.wechat import WechatPayEmulator
from publicpay.emulators.wechat import notify as wechat_notify
from publicpay.emulators.wechat.crypto import PlatformKey
from publicpay.emulators.wechat.state import Trade as WechatTrade


def new_emulators() -> tuple[Emulators, bytes]:
    """The demo's three emulators, Alipay's made with a key we keep (to sign notifications)."""
    alipay_pem = generate_private_key_pem()
    emulators = Emulators(
        AlipayEmulator(private_key_pem=alipay_pem), WechatPayEmulator(), UnionPayEmulator()
    )
    return emulators, alipay_pem


@dataclass
class ChannelKeys:
    """What the channels sign with (Alipay's RSA2 key; WeChat Pay's platform key and the
    merchant's APIv3 key), and the merchant ids their notifications must carry."""

    alipay_pem: bytes
    alipay_app_id: str
    alipay_seller_id: str  # the merchant's partner id, which the channel account checks
    wechat: PlatformKey
    apiv3_key: str
    mchid: str
    appid: str

    def __post_init__(self) -> None:
        self._alipay = load_private_key(self.alipay_pem)

    @classmethod
    def of(
        cls, emulators: Emulators, alipay_pem: bytes, configs: dict[str, dict[str, Any]]
    ) -> ChannelKeys:
        wechat = configs["wechat"]
        return cls(
            alipay_pem=alipay_pem,
            alipay_app_id=configs["alipay"]["app_id"],
            alipay_seller_id=str(configs["alipay"].get("seller_id") or "2088721000000001"),
            wechat=emulators.wechat.platform,
            apiv3_key=wechat["apiv3_key"],
            mchid=wechat["mchid"],
            appid=wechat["appid"],
        )

    def alipay_notification(self, order_no: str, amount_fen: int) -> tuple[bytes, dict[str, str]]:
        """A TRADE_SUCCESS async notification, as `AlipayEmulator._dispatch_notification`."""
        now = datetime.now(UTC)
        paid = text(amount_fen)
        params = {
            "notify_time": shanghai(now),
            "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex,
            "app_id": self.alipay_app_id,
            "auth_app_id": self.alipay_app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": now.strftime("%Y%m%d") + "22001" + secrets.token_hex(6)[:11],
            "out_trade_no": order_no,
            "gmt_create": shanghai(now),
            "buyer_id": "2088102177846880",
            "buyer_logon_id": "158****1562",
            "seller_id": self.alipay_seller_id,
            "subject": "非税缴款-汽车号牌",
            "trade_status": TRADE_SUCCESS,
            "total_amount": paid,
            "receipt_amount": paid,
            "invoice_amount": paid,
            "buyer_pay_amount": paid,
            "point_amount": "0.00",
            "gmt_payment": shanghai(now),
            "fund_bill_list": json.dumps(
                [{"amount": paid, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
            ),
        }
        params["sign"] = sign(content_to_sign(params, drop=("sign", "sign_type")), self._alipay)
        params["sign_type"] = "RSA2"
        return urlencode(params).encode(), {"Content-Type": FORM}

    def wechat_notification(
        self, order_no: str, amount_fen: int, url: str
    ) -> tuple[bytes, dict[str, str]]:
        """A TRANSACTION.SUCCESS notification, as `WechatPayEmulator.notify_payment`."""
        now = datetime.now(UTC)
        trade = WechatTrade(
            mchid=self.mchid,
            appid=self.appid,
            out_trade_no=order_no,
            trade_type="NATIVE",
            description="非税缴款-汽车号牌",
            total=amount_fen,
            notify_url=url,
            created_at=now,
        )
        trade.pay(now)
        request = wechat_notify.notification(
            self.wechat,
            url=url,
            apiv3_key=self.apiv3_key,
            event_type="TRANSACTION.SUCCESS",
            summary="支付成功",
            original_type="transaction",
            resource=trade.transaction(),
        )
        return request.body, dict(request.headers)
