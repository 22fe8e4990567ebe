"""Point the stored channel accounts at the in-process channel emulators (demo and tests).

Each start makes new emulators (new platform keys, a new UnionPay CA), so each start registers
the merchants again — as a merchant would upload its key or download its certificate in the
channel's console — and rewrites what the platform stores: gateway URLs, the channel's public
key or root certificate, and (UnionPay) the merchant's newly issued signing certificate.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from publicpay.adapters.crypto.rsa_keys import public_key_pem
from publicpay.emulators.alipay import AlipayEmulator
from publicpay.emulators.unionpay import UnionPayEmulator
from publicpay.emulators.wechat import WechatPayEmulator

CODEPAY_POLL_INTERVAL_S = 3.0  # WeChat's advice: query every few seconds while USERPAYING


@dataclass(frozen=True)
class Emulators:
    alipay: AlipayEmulator
    wechat: WechatPayEmulator
    unionpay: UnionPayEmulator

    def close(self) -> None:
        self.alipay.close()
        self.wechat.close()
        self.unionpay.close()


def start_emulators(time_scale: float) -> Emulators:
    return Emulators(
        AlipayEmulator(time_scale=time_scale),
        WechatPayEmulator(time_scale=time_scale),
        UnionPayEmulator(time_scale=time_scale),
    )


def connect(
    configs: dict[str, dict[str, Any]],
    emulators: Emulators,
    base: str,
    *,
    time_scale: float,
    timeout_s: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Register the merchants with the emulators; returns the configs to store (edited)."""
    ali, wx, up = configs["alipay"], configs["wechat"], configs["unionpay"]
    ali["gateway_url"] = f"{base}/emulator/alipay/gateway.do"
    ali["alipay_public_key_pem"] = emulators.alipay.public_key_pem.decode()
    emulators.alipay.register_app(
        ali["app_id"], public_key_pem(ali["app_private_key_pem"].encode())
    )
    ali["seller_id"] = emulators.alipay.pid(ali["app_id"])  # whose trade bills we accept

    wx["base_url"] = f"{base}/emulator/wechat"
    wx["platform_public_key_pem"] = emulators.wechat.platform_public_key_pem.decode()
    wx["platform_public_key_id"] = emulators.wechat.platform_public_key_id
    wx["codepay_poll_interval_s"] = CODEPAY_POLL_INTERVAL_S * time_scale
    wx.setdefault("app_secret", secrets.token_hex(16))  # the 公众号's, for OAuth2 (JSAPI)
    wx["oauth_base_url"] = wx["sns_base_url"] = f"{base}/emulator/wechat"
    emulators.wechat.register_merchant(
        wx["mchid"],
        wx["appid"],
        wx["merchant_serial_no"],
        public_key_pem(wx["merchant_private_key_pem"].encode()),
        wx["apiv3_key"],
        app_secret=wx["app_secret"],
    )

    cert_pem, key_pem = emulators.unionpay.issue_merchant_cert(up["mer_id"])
    up["sign_cert_pem"], up["sign_key_pem"] = cert_pem.decode(), key_pem.decode()
    up["unionpay_root_cert_pem"] = emulators.unionpay.root_cert_pem.decode()
    up["gateway_url"] = f"{base}/emulator/unionpay"
    up["back_url"] = f"{base}/api/v1/notify/unionpay"
    if timeout_s is not None:
        for config in (ali, wx, up):
            config["timeout_s"] = timeout_s
    return configs
