"""Aggregate QR (聚合码): one code per payable that any wallet can pay.

The code is a URL of ours, `<base>/pay/a/<token>`. The token names the payable and carries an
expiry and a MAC (keyed hash of the platform's secret box), so it needs no table: a short-lived
aggregate session. Opening the URL, the platform tells the wallet by its User-Agent and starts
that channel's own flow (a channel order is created only then):

- Alipay's in-app browser: `AlipayClient/<version>`, e.g. `… AliApp(AP/10.5.36.8000)
  AlipayClient/10.5.36.8000 Language/zh-Hans …` → a precreated Alipay order; the page redirects
  to its qr_code URL, which the Alipay client opens as its cashier.
- WeChat's in-app browser: `MicroMessenger/<version>`, e.g. `… MicroMessenger/8.0.47(0x1800
  2f2f) NetType/WIFI Language/zh_CN` → a JSAPI order for the payer's openid and the signed
  bundle for `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`. In production the openid comes
  from WeChat's OAuth (snsapi_base); the emulated wallet sends it as the `openid` parameter.
- UnionPay's 云闪付 app: `(com.unionpay.chsp) … (UnionPay/1.0 CloudPay)`; other UnionPay-QR
  apps of banks send `UnionPay/1.0 <APP>` too → a UnionPay 申码 order; redirect to its QR URL.

Anything else (a desktop browser, another app) gets a page that lists the wallets and links to
the per-channel codes. Matching is by substring, the way integrators check these UAs.

The channel orders themselves are opened by the workflows in `checkout` (`open_for_wallet`,
`open_jsapi`).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from publicpay.domain.errors import NotFound, ValidationFailed
from publicpay.domain.payables import PayableStatus, amount_due_fen
from publicpay.domain.payments.channels import Channel
from publicpay.domain.time import business_date
from publicpay.services.payments.orders import PaymentPolicy
from publicpay.services.ports import Box, Clock
from publicpay.services.unit_of_work import UnitOfWork

WALLET_MARKERS: tuple[tuple[str, Channel], ...] = (
    ("AlipayClient/", Channel.ALIPAY),
    ("MicroMessenger/", Channel.WECHAT),
    ("UnionPay/", Channel.UNIONPAY),
)
WALLET_NAMES = {Channel.ALIPAY: "支付宝", Channel.WECHAT: "微信", Channel.UNIONPAY: "云闪付"}
AGGREGATE_PATH = "/pay/a/"
SOURCE_MARK = "~"  # "<payment code>~<device app id>": a code shown by a kiosk or a window's POS
EXPIRED = "聚合码已过期，请刷新缴款页面获取新的二维码"


@dataclass(frozen=True, slots=True)
class AggregateCode:
    session_no: str
    url: str
    payment_code: str
    amount_fen: int
    expires_at: datetime


def wallet_of(user_agent: str) -> Channel | None:
    for marker, channel in WALLET_MARKERS:
        if marker in user_agent:
            return channel
    return None


def issue_aggregate(
    uow: UnitOfWork,
    box: Box,
    payment_code: str,
    *,
    base_url: str,
    clock: Clock,
    policy: PaymentPolicy,
    source: str | None = None,
) -> AggregateCode:
    """A new aggregate code for an unpaid payable (nothing is stored). `source`: the device
    showing it (a kiosk, a window's POS terminal); the order a wallet opens from it records
    that device's site, window and shift, as if the device had opened it."""
    now = clock.now()
    with uow:
        payable = uow.payables.by_code(payment_code)
        if payable is None:
            raise NotFound(f"缴款码 {payment_code} 不存在")
        if payable.status is not PayableStatus.UNPAID:
            raise ValidationFailed(f"缴款单状态为「{payable.status.value}」，不能再支付")
        amount = amount_due_fen(
            payable.lines, uow.catalogue.items(), payable.due_date, business_date(now)
        )
    expires_at = now + timedelta(seconds=policy.order_timeout_s)
    ref = f"{payment_code}{SOURCE_MARK}{source}" if source else payment_code
    session_no, url = aggregate_url(box, ref, expires_at, base_url=base_url)
    return AggregateCode(session_no, url, payment_code, amount, expires_at)


def aggregate_url(box: Box, ref: str, expires_at: datetime, *, base_url: str) -> tuple[str, str]:
    """(session number, URL) of an aggregate code for `ref`: a payment code, or a cart's number
    (a cart reserved for whichever wallet opens it first)."""
    expires, nonce = f"{int(expires_at.timestamp()):x}", secrets.token_hex(4)
    body = f"{ref}.{expires}.{nonce}"
    token = f"{body}.{_mac(box, body)}"
    session_no = "A" + ref.partition(SOURCE_MARK)[0] + expires + nonce
    return session_no, f"{base_url.rstrip('/')}{AGGREGATE_PATH}{token}"


def split_ref(ref: str) -> tuple[str, str | None]:
    """(payment code or cart number, the device that showed the code if any) of a token's ref."""
    code, _, source = ref.partition(SOURCE_MARK)
    return code, source or None


def read_token(box: Box, token: str, *, clock: Clock) -> str:
    """The payment code an aggregate token stands for; ValidationFailed if forged or expired."""
    body, _, mac = token.rpartition(".")
    parts = body.split(".")
    if len(parts) != 3 or not hmac.compare_digest(_mac(box, body), mac):
        raise ValidationFailed("二维码无效", errors={"token": "无效"})
    try:
        expires = datetime.fromtimestamp(int(parts[1], 16), UTC)
    except ValueError as exc:
        raise ValidationFailed("二维码无效", errors={"token": "无效"}) from exc
    if clock.now() > expires:
        raise ValidationFailed(EXPIRED, errors={"token": "已过期"})
    return parts[0]


def _mac(box: Box, body: str) -> str:
    return box.lookup_hash("aggregate-qr:" + body)[:20]
