"""Payer messages (N3): the SMS or app message a payer gets when a payable is registered and when
it is paid, with the link to the pay page (pay, then view and download the receipt).

A message is generated in the transaction of its event (registration, payment) and delivered
afterwards by a pluggable sender (`services.messages.sending`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from publicpay.domain.errors import ValidationFailed
from publicpay.domain.money import format_yuan

SIGNATURE = "【统一公共支付平台】"
MAX_ATTEMPTS = 5


class MessageKind(StrEnum):
    REGISTERED = "registered"  # 缴款通知: what is owed and the link to pay
    PAID = "paid"  # 缴款成功: the link to view the payment and the e-receipt


class MessageChannel(StrEnum):
    SMS = "sms"  # the payer gave a phone number
    APP = "app"  # no phone: an in-app message (政务 app / the unit's app) keyed by the payer


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up after MAX_ATTEMPTS; kept for the console


MESSAGE_KIND_LABELS = {MessageKind.REGISTERED: "缴款通知", MessageKind.PAID: "缴款成功"}
MESSAGE_STATUS_LABELS = {
    MessageStatus.PENDING: "待发送",
    MessageStatus.SENT: "已发送",
    MessageStatus.FAILED: "发送失败",
}
MESSAGE_CHANNEL_LABELS = {MessageChannel.SMS: "短信", MessageChannel.APP: "应用消息"}


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What a message says: the payable as the payer knows it."""

    kind: MessageKind
    unit_name: str
    payment_code: str
    amount_fen: int
    item_name: str
    link: str  # the pay page: https://<platform>/pay/<payment code>


def compose(facts: MessageFacts) -> str:
    """The message text (Chinese, one SMS or two; the link last so it stays clickable)."""
    amount = format_yuan(facts.amount_fen)
    if facts.kind is MessageKind.REGISTERED:
        return (
            f"{SIGNATURE}{facts.unit_name}：您有一笔{facts.item_name}待缴款{amount}，"
            f"缴款码{facts.payment_code}。请打开链接缴款，缴款后可在同一链接下载电子票据："
            f"{facts.link}"
        )
    return (
        f"{SIGNATURE}您已向{facts.unit_name}缴款{amount}（{facts.item_name}），"
        f"缴款码{facts.payment_code}。查看缴款记录、下载财政电子票据：{facts.link}"
    )


@dataclass(frozen=True, slots=True)
class DueMessage:
    """A message to send now, with what composing and addressing it needs."""

    id: int
    kind: MessageKind
    attempts: int  # before this one
    facts_without_link: MessageFacts
    phone: str | None  # decrypted for the sender only; never logged or shown unmasked
    payer_id_masked: str


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What a sender delivers."""

    channel: MessageChannel
    to: str  # a phone number (sms), or the payer's masked ID number (app)
    text: str
    payment_code: str


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message row as the console lists it (recipient masked)."""

    id: int
    unit_id: int
    payment_code: str
    kind: MessageKind
    status: MessageStatus
    channel: MessageChannel | None
    recipient_masked: str
    text: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


# -- one-time codes a payer proves an ID number with (the portal's 我的缴费记录) --------------

PAYER_CODE_TTL = timedelta(minutes=5)
PAYER_CODE_ATTEMPTS = 5  # wrong entries before the code is spent
PAYER_CODES_PER_HOUR = 5  # codes asked for one ID number in an hour (sent or not)


class PayerCodeRefused(ValidationFailed):
    code = "payer_code_refused"
    title = "验证码无效"


class PayerCodesLimited(ValidationFailed):
    code = "payer_codes_limited"
    title = "获取验证码过于频繁"


@dataclass(slots=True)
class PayerCode:
    """A code sent to a payer's phone; its hash binds the ID number and the phone it was for."""

    id: int
    id_hash: str
    code_hash: str
    attempts: int
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def check(self, now: datetime) -> None:
        """Refuse a code already used, expired, or tried too often (before comparing it)."""
        if self.used_at is not None:
            raise PayerCodeRefused("验证码已使用，请重新获取验证码")
        if now >= self.expires_at:
            raise PayerCodeRefused("验证码已过期，请重新获取验证码")
        if self.attempts >= PAYER_CODE_ATTEMPTS:
            raise PayerCodeRefused("验证码输入错误次数过多，请重新获取验证码")

    def wrong(self) -> None:
        self.attempts += 1

    def spend(self, now: datetime) -> None:
        self.used_at = now


def payer_code_text(code: str) -> str:
    minutes = int(PAYER_CODE_TTL.total_seconds() // 60)
    return (
        f"{SIGNATURE}您正在查询缴费记录，验证码{code}，{minutes}分钟内有效。"
        "请勿告诉他人；如非本人操作，请忽略本短信。"
    )
