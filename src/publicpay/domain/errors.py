"""Domain errors with stable codes. `api/problems.py` maps codes to HTTP statuses."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A refusal with a stable machine code and a Chinese message for people."""

    code = "domain_error"
    title = "请求无法处理"

    def __init__(self, detail: str, *, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors or {})


class ValidationFailed(DomainError):
    code = "validation_failed"
    title = "请求数据有误"


class NotFound(DomainError):
    code = "not_found"
    title = "未找到"


class Conflict(DomainError):
    code = "conflict"
    title = "与已有数据冲突"


class InvalidTransition(DomainError):
    code = "invalid_transition"
    title = "当前状态不允许此操作"


class Unauthorized(DomainError):
    code = "unauthorized"
    title = "身份验证失败"


class Forbidden(DomainError):
    code = "forbidden"
    title = "无权执行此操作"


class ItemNotAuthorised(Forbidden):
    code = "item_not_authorised"
    title = "单位未获授权收取该项目"


class ChannelUnavailable(DomainError):
    """The channel did not answer (timeout, 5xx); the operation may be retried."""

    code = "channel_unavailable"
    title = "支付渠道暂不可用"


class ChannelRejected(DomainError):
    """The channel answered with a business refusal."""

    code = "channel_rejected"
    title = "支付渠道拒绝了请求"

    def __init__(self, detail: str, *, channel_code: str = "") -> None:
        super().__init__(detail)
        self.channel_code = channel_code


class InvalidNotification(DomainError):
    """A channel notification whose signature, app id, order or amount does not check out."""

    code = "invalid_notification"
    title = "支付通知校验失败"


class RateLimited(DomainError):
    """Over the caller's allowance; `retry_after_s` goes out as the Retry-After header."""

    code = "rate_limited"
    title = "请求过于频繁"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
