"""Pluggable senders of payer messages (`services.messages.ports.MessageSender`).

- `LogSender` (the default, and the demo's): writes each message to the `publicpay.messages`
  log with the recipient masked, and keeps the last ones in memory (`logged()`): the console's
  缴款人消息 page shows them — the demo's "phone", where e.g. a history one-time code is read.
- `HttpGatewaySender`: POSTs `{"channel", "to", "text", "payment_code"}` as JSON to the
  operator's SMS / app-message gateway, signed like our webhooks
  (`X-PublicPay-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`); any answer
  other than 2xx is a failure, retried with back-off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime

import httpx

from publicpay.domain.codes import mask_phone
from publicpay.domain.messages import MessageChannel, OutgoingMessage

log = logging.getLogger("publicpay.messages")


class LogSender:
    KEPT = 50

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: deque[tuple[datetime, str, str, str, str]] = deque(maxlen=self.KEPT)

    def send(self, message: OutgoingMessage) -> None:
        to = mask_phone(message.to) if message.channel is MessageChannel.SMS else message.to
        log.info("payer message %s to %s: %s", message.channel.value, to, message.text)
        with self._lock:
            entry = (datetime.now(UTC), message.channel.value, to, message.text)
            self._log.append((*entry, message.payment_code))

    def logged(self, *, unit_less: bool = False) -> list[tuple[datetime, str, str, str]]:
        """(at, channel, recipient masked, text) of the last messages, newest first;
        `unit_less`: only those of no payable (e.g. one-time codes)."""
        with self._lock:
            kept = [e[:4] for e in reversed(self._log) if not (unit_less and e[4])]
        return [(at, channel, to, text) for at, channel, to, text in kept]


class HttpGatewaySender:
    def __init__(self, url: str, secret: str, timeout_s: float = 5.0) -> None:
        if not url:
            raise ValueError("PUBLICPAY_MESSAGE_GATEWAY_URL must be set for the http sender")
        self._url = url
        self._secret = secret.encode()
        self._client = httpx.Client(timeout=timeout_s)

    def send(self, message: OutgoingMessage) -> None:
        body = json.dumps(
            {
                "channel": message.channel.value,
                "to": message.to,
                "text": message.text,
                "payment_code": message.payment_code,
            },
            ensure_ascii=False,
        ).encode()
        stamp = str(int(time.time()))
        mac = hmac.new(self._secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-PublicPay-Signature": f"t={stamp},v1={mac}",
        }
        response = self._client.post(self._url, content=body, headers=headers)
        if not response.is_success:
            raise RuntimeError(f"message gateway answered {response.status_code}")

    def close(self) -> None:
        self._client.close()
