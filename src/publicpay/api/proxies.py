"""Forwarded headers, believed only from the reverse proxies the operator names.

Behind a TLS-terminating proxy (nginx, a load balancer) the app sees the proxy's address and
plain HTTP. `TrustedProxies` rewrites the ASGI scope's `client` and `scheme` from the proxy's
`X-Forwarded-For` / `X-Forwarded-Proto` (or, when those are absent, a simple RFC 7239
`Forwarded: for=…;proto=…`) — but only when the connection comes from an address in
`PUBLICPAY_TRUSTED_PROXIES`. From any other peer the headers are ignored, so a client cannot
choose its own address for throttling and the audit, nor fake HTTPS.

The client is the rightmost address of the chain that is not itself a trusted proxy (a client
may put anything at the left of `X-Forwarded-For`; only what trusted proxies appended counts).
With no trusted proxy configured the middleware is not installed at all. Neither server does
this on its own: `publicpay serve` (granian) has no proxy-header handling, and uvicorn's (the
demo and the tests) is switched off (`proxy_headers=False`) so this module is the only one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SCHEMES = {"http": "http", "https": "https"}


class TrustedProxies:
    """Plain ASGI middleware (cheap: one membership test per request from other peers)."""

    def __init__(self, app: ASGIApp, proxies: Iterable[str]) -> None:
        self.app = app
        self.networks = tuple(ipaddress.ip_network(p, strict=False) for p in proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            if client and self.trusted(client[0]):
                scope = self.forwarded(scope, client)
        await self.app(scope, receive, send)

    def trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.strip().strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def forwarded(self, scope: Scope, client: tuple[str, int]) -> Scope:
        headers = {k: bytes(v).decode("latin-1") for k, v in scope["headers"]}
        chain, protos = _x_forwarded(headers)
        if not chain and not protos:
            chain, protos = _rfc7239(headers.get(b"forwarded", ""))
        scope = dict(scope)
        for_ = self._client_of(chain)
        if for_:
            scope["client"] = (for_, 0)
        proto = _SCHEMES.get(protos[-1].lower()) if protos else None
        if proto:
            scope["scheme"] = proto
        return scope

    def _client_of(self, chain: list[str]) -> str:
        """The rightmost address that is not a trusted proxy (or the leftmost of all-proxies)."""
        addresses = [a for a in (_address(entry) for entry in chain) if a]
        for address in reversed(addresses):
            if not self.trusted(address):
                return address
        return addresses[0] if addresses else ""


def _x_forwarded(headers: dict[bytes, str]) -> tuple[list[str], list[str]]:
    chain = [p.strip() for p in headers.get(b"x-forwarded-for", "").split(",") if p.strip()]
    protos = [p.strip() for p in headers.get(b"x-forwarded-proto", "").split(",") if p.strip()]
    return chain, protos


def _rfc7239(value: str) -> tuple[list[str], list[str]]:
    """`for` and `proto` of each element of a simple `Forwarded` header (no quoted commas)."""
    chain: list[str] = []
    protos: list[str] = []
    for element in value.split(","):
        for pair in element.split(";"):
            name, _, token = pair.strip().partition("=")
            token = token.strip().strip('"')
            if name.lower() == "for" and token:
                chain.append(token)
            elif name.lower() == "proto" and token:
                protos.append(token)
    return chain, protos


def _address(entry: str) -> str:
    """The IP address of a forwarded entry (`1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:443`),
    or "" for anything else (`unknown`, obfuscated identifiers, garbage)."""
    entry = entry.strip()
    if entry.startswith("["):
        entry = entry[1:].split("]", 1)[0]
    elif entry.count(":") == 1:
        entry = entry.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return ""
