"""The SSRF guard of webhook URLs (adapters.events.ssrf): every IPv4-embedding IPv6 form,
loopback only where allowed, one resolution per request and the connection made to the checked
address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from publicpay.adapters.events.ssrf import AddressPolicy, pin
from publicpay.adapters.events.webhooks import HttpWebhookSender, WebhookUrlGuard
from publicpay.domain.errors import ValidationFailed
from tests.support.servers import serve
from tests.support.webhooks import WebhookReceiver

PRODUCTION = AddressPolicy()
DEMO = AddressPolicy(allow_loopback=True)

REFUSED_EVERYWHERE = [
    "http://[::127.0.0.1]/hook",  # IPv4-compatible loopback
    "http://[::a9fe:a9fe]/hook",  # IPv4-compatible link-local (cloud metadata)
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "http://[64:ff9b:1::a00:1]/hook",  # local-use NAT64 of 10.0.0.1
    "http://[::ffff:169.254.169.254]/hook",  # IPv4-mapped
    "http://[::ffff:10.0.0.1]/hook",
    "http://[2002:a9fe:a9fe::1]/hook",  # 6to4 of 169.254.169.254
    "http://[2002:0a00:0001::1]/hook",  # 6to4 of 10.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
    "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/hook",
    "http://100.64.0.1/hook",  # shared address space
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.1.1/hook",  # multicast (is_global says True)
    "http://[::]/hook",
]
LOOPBACK = ["http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook"]


@pytest.mark.parametrize("url", REFUSED_EVERYWHERE + LOOPBACK)
def test_private_and_ipv4_embedding_addresses_are_refused_in_production(url: str) -> None:
    with pytest.raises(ValidationFailed, match="内网或保留地址"):
        pin(url, PRODUCTION)


@pytest.mark.parametrize("url", REFUSED_EVERYWHERE)
def test_demo_and_test_mode_allow_loopback_only(url: str) -> None:
    with pytest.raises(ValidationFailed):
        pin(url, DEMO)


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_is_allowed_in_demo_and_test_mode(url: str) -> None:
    assert pin(url, DEMO).url.endswith("/hook")


@pytest.mark.parametrize(
    "url",
    [
        "https://[64:ff9b::808:808]/hook",  # NAT64 of a public address
        "https://[2606:4700::1111]/hook",
        "https://8.8.8.8/hook",
    ],
)
def test_public_addresses_are_allowed(url: str) -> None:
    assert pin(url, PRODUCTION).url == url


@pytest.mark.parametrize(
    "answer", ["127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "10.0.0.7"]
)
def test_a_name_resolving_to_a_refused_address_is_refused(answer: str) -> None:
    def resolver(host: str) -> list[str]:
        return ["8.8.8.8", answer]  # every address is checked, not only the first

    with pytest.raises(ValidationFailed):
        pin("https://hooks.example.com/x", PRODUCTION, resolver)


def test_the_pinned_url_keeps_the_name_for_host_header_and_tls() -> None:
    pinned = pin(
        "https://hooks.example.com:8443/hook?a=1", PRODUCTION, lambda host: ["2606:4700::1111"]
    )

    assert pinned.url == "https://[2606:4700::1111]:8443/hook?a=1"
    assert pinned.host_header == "hooks.example.com:8443"
    assert pinned.server_name == "hooks.example.com"


class Rebinding:
    """A DNS server that answers a public address first and loopback after (DNS rebinding)."""

    def __init__(self, first: str, then: str) -> None:
        self.answers: Iterator[str] = iter([first])
        self.then = then
        self.asked = 0

    def __call__(self, host: str) -> list[str]:
        self.asked += 1
        return [next(self.answers, self.then)]


def test_the_request_goes_to_the_address_that_was_checked() -> None:
    """One resolution per delivery, and the socket is opened to its (checked) answer: a second
    answer pointing at 127.0.0.1 is never used."""
    dns = Rebinding(first="8.8.8.8", then="127.0.0.1")
    sent: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    sender = HttpWebhookSender(
        WebhookUrlGuard(resolver=dns), client=httpx.Client(transport=httpx.MockTransport(transport))
    )
    status, error, _ = sender.post("https://hooks.example.com/hook", {"X-A": "1"}, b"{}")

    assert (status, error) == (204, None)
    assert dns.asked == 1
    [request] = sent
    assert request.url.host == "8.8.8.8"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


def test_a_rebound_answer_at_delivery_time_is_refused() -> None:
    """The URL was accepted (public address); at delivery the name answers loopback: refused,
    nothing sent."""
    dns = Rebinding(first="8.8.8.8", then="127.0.0.1")
    guard = WebhookUrlGuard(resolver=dns)
    guard.check("https://hooks.example.com/hook")  # when the unit set its URL
    sent: list[Any] = []
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))
    )

    status, error, _ = HttpWebhookSender(guard, client=client).post(
        "https://hooks.example.com/hook", {}, b"{}"
    )

    assert status is None
    assert str(error).startswith("refused")
    assert sent == []


def test_a_real_delivery_connects_to_the_pinned_loopback_address() -> None:
    """End to end over a socket: `hooks.rebind.test` does not exist in any DNS, so the receiver
    gets the webhook only because the sender connected to the address the guard checked."""
    receiver = WebhookReceiver()
    with serve(receiver.app()) as base:
        port = base.rsplit(":", 1)[1]
        dns = Rebinding(first="127.0.0.1", then="10.0.0.1")
        sender = HttpWebhookSender(WebhookUrlGuard(allow_loopback=True, resolver=dns))
        status, error, _ = sender.post(f"http://hooks.rebind.test:{port}/hook", {}, b'{"a":1}')
        sender.close()

    assert (status, error) == (200, None)
    assert dns.asked == 1
    [got] = receiver.received
    assert got.headers["host"] == f"hooks.rebind.test:{port}"
    assert got.body == b'{"a":1}'
