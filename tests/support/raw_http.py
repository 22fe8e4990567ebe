"""HTTP/1.1 over a plain socket, for requests an HTTP client will not send as asked (a lying
Content-Length, a body streamed in chunks past a limit, raw bytes in headers)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    base_url: str,
    head: bytes,
    chunks: Iterable[bytes] = (),
    *,
    timeout_s: float = 15.0,
) -> RawResponse:
    """Send `head` (request line and headers, without the blank line), then each chunk as it
    is produced, and read the answer. Sending stops quietly when the server has answered and
    closed (as it should when it refuses a body part-way)."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
        sock.sendall(head + b"\r\n\r\n")
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read(sock)


def _read(sock: socket.socket) -> RawResponse:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return RawResponse(status, headers, body)


def chunked(total: int, size: int = 64 * 1024) -> Iterable[bytes]:
    """`total` bytes of JSON-ish filler in chunked transfer coding, then the last chunk."""
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield f"{n:x}\r\n".encode() + b"[" * n + b"\r\n"
        sent += n
    yield b"0\r\n\r\n"
