"""Server-side request forgery guard for URLs the platform calls on a unit's behalf (webhooks).

A URL is resolved ONCE; every address it resolves to must be allowed, and the request is then
sent to the address that was checked (`PinnedUrl`): the URL's host is replaced by that address,
the `Host` header keeps the name, and for HTTPS the TLS server name (SNI) and certificate check
use the name too (httpcore's `sni_hostname` extension). A second DNS answer (DNS rebinding: a
public address at the check, 127.0.0.1 at the connect) never reaches the socket.

Allowed: globally routable unicast addresses. Refused: private, loopback, link-local, shared
(100.64/10), reserved, multicast and unspecified addresses, and the IPv6 forms that carry an
IPv4 address inside them — IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`,
`64:ff9b:1::/48`) and 6to4 (`2002::/16`) unless the embedded IPv4 address is itself allowed, and
the deprecated IPv4-compatible form (`::a.b.c.d`) and Teredo (`2001::/32`) always.
`allow_loopback` (demo and test mode only) lets 127.0.0.0/8 and ::1 through; `allow_private`
(PUBLICPAY_ALLOW_PRIVATE_WEBHOOKS, an operator's choice) lets every non-global address through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from publicpay.domain.errors import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_COMPATIBLE = ipaddress.ip_network("::/96")


@dataclass(frozen=True, slots=True)
class PinnedUrl:
    url: str  # the URL with its host replaced by the checked address
    host_header: str  # the original host[:port], for the Host header
    server_name: str  # the original host name, for TLS SNI and the certificate check


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    allow_loopback: bool = False
    allow_private: bool = False

    def refusal(self, address: Address) -> str | None:
        """Why `address` may not be called, or None when it may."""
        if self.allow_private:
            return None
        if address.is_loopback and self.allow_loopback:
            return None
        if isinstance(address, ipaddress.IPv6Address):
            if address in _COMPATIBLE and int(address) > 1:
                return "已废弃的 IPv4 兼容地址"  # ::a.b.c.d: nobody's webhook lives there
            embedded = _embedded_ipv4(address)
            if embedded is not None:
                reason = self.refusal(embedded)
                return f"内嵌 IPv4 地址 {embedded}：{reason}" if reason else None
            if address.teredo is not None:
                return "Teredo 隧道地址"
        if address.is_multicast or address.is_unspecified or not address.is_global:
            return "不是公网地址"
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFailed("通知地址的域名无法解析", errors={"url": host}) from exc
    return [str(info[4][0]) for info in infos]


def pin(url: str, policy: AddressPolicy, resolver: Resolver = system_resolver) -> PinnedUrl:
    """Resolve `url`'s host once, check every address, and point the URL at the first."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationFailed("通知地址必须是 http(s) URL", errors={"url": "格式错误"})
    try:
        port = parts.port
    except ValueError as exc:
        raise ValidationFailed("通知地址的端口无效", errors={"url": "端口无效"}) from exc
    addresses = _addresses(host, resolver)
    for address in addresses:
        reason = policy.refusal(address)
        if reason:
            raise ValidationFailed(
                "通知地址指向内网或保留地址，已拒绝", errors={"url": f"{address} {reason}"}
            )
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = literal if port is None else f"{literal}:{port}"
    host_header = parts.netloc.rpartition("@")[2]  # no credentials in the Host header
    return PinnedUrl(parts._replace(netloc=netloc).geturl(), host_header, host)


def _addresses(host: str, resolver: Resolver) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found = []
    for text in resolver(host):
        try:
            found.append(ipaddress.ip_address(text.split("%", 1)[0]))  # drop an IPv6 zone id
        except ValueError:
            continue
    if not found:
        raise ValidationFailed("通知地址的域名无法解析", errors={"url": host})
    return found
