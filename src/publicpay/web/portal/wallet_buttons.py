"""Which wallet buttons the pay page shows, by the payer's browser (User-Agent)."""

from __future__ import annotations

from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.wallets import Wallet

LABELS = {
    Wallet.ALIPAY_WAP: "支付宝支付",
    Wallet.WECHAT_H5: "微信支付",
    Wallet.WECHAT_JSAPI: "微信支付",
}


def wallet_buttons(user_agent: str, channels: list[Channel]) -> tuple[bool, list[dict[str, str]]]:
    """(phone first?, the wallet buttons) for the payer's browser: inside WeChat only JSAPI,
    inside Alipay or a phone browser Alipay WAP and WeChat H5, on a desktop Alipay's page
    (WeChat H5 works only on phones)."""
    if "MicroMessenger/" in user_agent:
        wallets = [Wallet.WECHAT_JSAPI]
    elif "AlipayClient/" in user_agent:
        wallets = [Wallet.ALIPAY_WAP]
    elif any(mark in user_agent for mark in ("Mobile", "Android", "iPhone", "iPad")):
        wallets = [Wallet.ALIPAY_WAP, Wallet.WECHAT_H5]
    else:
        return False, _buttons([Wallet.ALIPAY_WAP], channels)
    return True, _buttons(wallets, channels)


def _buttons(wallets: list[Wallet], channels: list[Channel]) -> list[dict[str, str]]:
    names = {Wallet.ALIPAY_WAP: Channel.ALIPAY}
    return [
        {"id": w.value, "label": LABELS[w]}
        for w in wallets
        if names.get(w, Channel.WECHAT) in channels
    ]
