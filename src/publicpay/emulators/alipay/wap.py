"""The emulated Alipay's 手机网站支付 cashier (alipay.trade.wap.pay), as the payer's phone sees it.

The merchant sends the payer's browser to the gateway with the signed page request (GET query
or an auto-submitted form). The gateway verifies it like any call, opens the trade (a repeat
of the same out_trade_no opens the same trade) and answers the cashier page instead of JSON.
The emulated payer confirms there (`POST <mount>/wap/pay`); the trade is paid, the async
notification goes to notify_url, and the browser is sent back to return_url with Alipay's
synchronous return parameters (method `alipay.trade.wap.pay.return`, RSA2-signed over every
parameter but sign and sign_type). "放弃付款" goes to quit_url.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from publicpay.domain.money import Money
from publicpay.emulators.alipay.trades import SHANGHAI

WAP_METHOD = "alipay.trade.wap.pay"
PRODUCT_CODE = "QUICK_WAP_WAY"


@dataclass(frozen=True, slots=True)
class WapVisit:
    """One cashier page shown: which trade, where the browser goes afterwards."""

    app_id: str
    out_trade_no: str
    return_url: str
    quit_url: str


# A stylesheet of its own (served at <mount>/cashier.css): the page's host may forbid inline
# styles by its Content-Security-Policy, as PublicPay's does where the emulator is mounted.
CASHIER_CSS = """body{margin:0;font-family:sans-serif;background:#f5f5f5;color:#333}
header{background:#1677ff;color:#fff;padding:14px 16px;font-size:18px}
main{padding:16px} .sum{font-size:34px;font-weight:bold;margin:12px 0}
.box{background:#fff;border-radius:8px;padding:16px;margin-bottom:12px}
button{width:100%;min-height:48px;font-size:18px;border:0;border-radius:6px;
background:#1677ff;color:#fff} .quit{display:block;text-align:center;margin-top:16px}
.hint{color:#666;font-size:14px}
"""


def new_token() -> str:
    return secrets.token_urlsafe(18)


def cashier_page(
    visit: WapVisit, token: str, *, subject: str, total_fen: int, mount_root: str
) -> str:
    amount = Money(total_fen).to_yuan()
    quit_link = (
        f'<a class="quit" href="{html.escape(visit.quit_url)}">放弃付款</a>'
        if visit.quit_url
        else ""
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>支付宝 - 网上支付 安全快速！</title>
<link rel="stylesheet" href="{html.escape(mount_root)}/cashier.css"></head>
<body><header>支付宝 · 收银台（模拟）</header><main>
<div class="box" id="alipay-cashier" data-out-trade-no="{html.escape(visit.out_trade_no)}">
<div class="hint">{html.escape(subject)}</div>
<div class="sum" id="alipay-amount">¥{amount}</div>
<div class="hint">商户订单号 {html.escape(visit.out_trade_no)}</div></div>
<form method="post" action="{html.escape(mount_root)}/wap/pay">
<input type="hidden" name="token" value="{token}">
<button type="submit" id="alipay-confirm">确认付款</button></form>
{quit_link}
<p class="hint">演示环境：这是支付宝模拟器的手机收银台，确认即视为付款人输入密码完成支付。</p>
</main></body></html>"""


def error_page(sub_code: str, sub_msg: str) -> str:
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>支付宝 - 错误</title>
</head><body><h1>支付请求出错</h1>
<p id="alipay-error">错误代码 {html.escape(sub_code)}</p><p>{html.escape(sub_msg)}</p>
</body></html>"""


def return_params(
    visit: WapVisit, *, trade_no: str, total_fen: int, seller_id: str
) -> dict[str, str]:
    """The synchronous return's parameters, before signing."""
    now = datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return {
        "charset": "utf-8",
        "out_trade_no": visit.out_trade_no,
        "method": "alipay.trade.wap.pay.return",
        "total_amount": Money(total_fen).to_yuan(),
        "trade_no": trade_no,
        "auth_app_id": visit.app_id,
        "version": "1.0",
        "app_id": visit.app_id,
        "seller_id": seller_id,
        "timestamp": now,
    }


def return_url(visit: WapVisit, signed: Mapping[str, str]) -> str:
    joiner = "&" if "?" in visit.return_url else "?"
    return f"{visit.return_url}{joiner}{urlencode(signed)}"
