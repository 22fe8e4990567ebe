"""Tell which wallet a scanned payment code (付款码) belongs to, by its prefix and length.

Rules, as the channels publish them and as integrators quote them:

- Alipay: "25~30 开头的长度为 16~24 位的数字" (alipay.trade.pay `auth_code`,
  https://opendocs.alipay.com/open/194/106039/).
- WeChat Pay: "18 位纯数字，以 10、11、12、13、14、15 开头"
  (https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=5_1).
- UnionPay QR payment code (银联二维码付款码, sent as ACP `qrNo`): "62 开头 19 位". UnionPay
  publishes no public page for this; the rule is the one integrators use, e.g.
  https://cnblogs.com/zhangmo/p/13578409.html ("银联二维码:62开头19位"), which quotes the other two
  rules from the pages above.

Anything else (letters, other prefixes, other lengths) is refused rather than guessed.
"""

from __future__ import annotations

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.payments.channels import Channel

# (channel, two-digit prefixes, shortest length, longest length)
_RULES: tuple[tuple[Channel, frozenset[str], int, int], ...] = (
    (Channel.WECHAT, frozenset({"10", "11", "12", "13", "14", "15"}), 18, 18),
    (Channel.ALIPAY, frozenset({"25", "26", "27", "28", "29", "30"}), 16, 24),
    (Channel.UNIONPAY, frozenset({"62"}), 19, 19),
)

UNRECOGNISED = "无法识别的付款码"


def detect_channel(auth_code: str) -> Channel:
    """The channel whose wallet shows `auth_code`; `ValidationFailed` if no rule matches."""
    code = auth_code.strip()
    if code.isascii() and code.isdigit():
        for channel, prefixes, shortest, longest in _RULES:
            if code[:2] in prefixes and shortest <= len(code) <= longest:
                return channel
    raise ValidationFailed(UNRECOGNISED, errors={"auth_code": UNRECOGNISED})
