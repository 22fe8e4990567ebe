"""The acquirer's terminal host over HTTP (收单机构 POS 前置): card-present sales on a window's
smart POS terminal, their query and same-day void. Protocol: docs/card-terminal.md.

JSON over HTTPS; every request and answer carries `sign` = upper-case hex SHA-256 of the fields
other than `sign` with a value, sorted by name as `k=v` joined by `&`, then `&key=<MAC key>`.
An answer whose signature does not check, a timeout or a 5xx is `ChannelUnavailable` (the
outcome is unknown: query before anything else); a refusal of the request itself (bad
signature, unknown merchant, duplicate order) is `ChannelRejected`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from publicpay.domain.errors import ChannelRejected, ChannelUnavailable
from publicpay.domain.payments.cards import CardResult, CardSaleRequest, CardState

BEIJING = ZoneInfo("Asia/Shanghai")
APPROVED = "00"
NOT_FOUND = "25"
REQUEST_REFUSALS = frozenset({"12", "94", "A0"})  # invalid, duplicate, bad signature


def sign(fields: dict[str, Any], key: str) -> str:
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k] != "")
    return hashlib.sha256(f"{text}&key={key}".encode()).hexdigest().upper()


class CardTerminalHost:
    """One merchant (MID) at one acquirer; terminals are named per sale (TID)."""

    def __init__(
        self,
        base_url: str,
        merchant_id: str,
        mac_key: str,
        *,
        timeout_s: float = 60.0,
        client: httpx.Client | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._mid = merchant_id
        self._key = mac_key
        self._timeout = timeout_s
        self._client = client or httpx.Client(follow_redirects=False)

    @property
    def merchant_id(self) -> str:
        return self._mid

    def sale(self, request: CardSaleRequest) -> CardResult:
        """Start the sale on the terminal and wait for the card, the PIN and the host's word."""
        fields = {
            "mid": self._mid,
            "tid": request.terminal_id,
            "out_order_no": request.order_no,
            "amount": request.amount_fen,
            "currency": "156",
            "txn_type": "sale",
        }
        answer = self._call("/terminal/sale", fields, self._timeout)
        code = str(answer.get("resp_code", ""))
        if code in REQUEST_REFUSALS:
            raise ChannelRejected(f"收单机构拒绝交易：{answer.get('resp_msg', '')}（{code}）",
                                  channel_code=code)  # fmt: skip
        return self._result(request.order_no, answer)

    def query(self, terminal_id: str, order_no: str) -> CardResult:
        fields = {"mid": self._mid, "tid": terminal_id, "out_order_no": order_no}
        return self._result(order_no, self._call("/terminal/query", fields, 10.0))

    def void(self, terminal_id: str, order_no: str, void_no: str) -> CardResult:
        """Void an approved sale of the current batch (same day); ChannelRejected otherwise."""
        fields = {"mid": self._mid, "tid": terminal_id, "out_order_no": order_no,
                  "void_order_no": void_no}  # fmt: skip
        answer = self._call("/terminal/void", fields, 10.0)
        if answer.get("resp_code") != APPROVED:
            raise ChannelRejected(f"撤销失败：{answer.get('resp_msg', '')}",
                                  channel_code=str(answer.get("resp_code", "")))  # fmt: skip
        return self._result(order_no, answer)

    def fetch_settlement(self, day: date) -> bytes:
        """The day's settlement file (docs/card-settlement.md), as the acquirer publishes it:
        `GET /terminal/settlement/file?mid=&date=&sign=`; ChannelUnavailable while it cannot be
        had (not published yet, no answer), ChannelRejected when the acquirer refuses us."""
        fields = {"mid": self._mid, "date": f"{day:%Y%m%d}"}
        params = {**fields, "sign": sign(fields, self._key)}
        try:
            response = self._client.get(
                self._base + "/terminal/settlement/file", params=params, timeout=30.0
            )
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"收单机构无应答（{type(exc).__name__}）") from exc
        if response.status_code == 403:
            raise ChannelRejected("收单机构拒绝下载结算文件，请核对商户号与密钥", channel_code="A0")
        if response.status_code != 200:
            raise ChannelUnavailable(f"收单机构结算文件尚不可取（HTTP {response.status_code}）")
        return response.content

    def _call(self, path: str, fields: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        body = {**fields, "sign": sign(fields, self._key)}
        try:
            response = self._client.post(self._base + path, json=body, timeout=timeout_s)
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"收单机构无应答（{type(exc).__name__}）") from exc
        if response.status_code != 200:
            raise ChannelUnavailable(f"收单机构应答 HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise ChannelUnavailable("收单机构应答不是 JSON") from exc
        if not isinstance(answer, dict):
            raise ChannelUnavailable("收单机构应答格式错误")
        if answer.get("resp_code") == "A0":
            raise ChannelRejected("收单机构签名校验失败，请核对商户密钥", channel_code="A0")
        given = str(answer.get("sign", ""))
        if not hmac.compare_digest(given, sign(answer, self._key)):
            raise ChannelUnavailable("收单机构应答签名无效")
        return answer

    def _result(self, order_no: str, a: dict[str, Any]) -> CardResult:
        code = str(a.get("resp_code", ""))
        if code == NOT_FOUND:
            state = CardState.NOT_FOUND
        elif code != APPROVED:
            state = CardState.DECLINED
        else:
            state = CardState.VOIDED if a.get("state") == "voided" else CardState.APPROVED
            if a.get("state") == "declined":
                state = CardState.DECLINED
        amount = a.get("amount")
        return CardResult(
            order_no=order_no,
            state=state,
            resp_code=code,
            message=str(a.get("resp_msg", "")),
            amount_fen=amount if isinstance(amount, int) else None,
            merchant_id=str(a.get("mid", "")),
            terminal_id=str(a.get("tid", "")),
            rrn=str(a.get("rrn", "")),
            auth_code=str(a.get("auth_code", "")),
            trace_no=str(a.get("trace_no", "")),
            batch_no=str(a.get("batch_no", "")),
            card_no=str(a.get("card_no", "")),
            entry_mode=str(a.get("entry_mode", "")),
            paid_at=_time(str(a.get("txn_time", ""))),
            raw=a,
        )

    def close(self) -> None:
        self._client.close()


def _time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None
