"""Load generator: a fixed list of pre-built HTTP/1.1 requests fired over `concurrency` keep-alive
connections (closed loop: each connection sends its next request when the answer is in).

Requests are built and signed before the clock starts, and the client is a few lines of asyncio
(uvloop) stream code rather than httpx, so that the load generator, which shares the 2 cores with
the server and the database, takes as little CPU as it can (about wrk's share).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import uvloop


def http_request(
    method: str, path: str, host: str, body: bytes, headers: Mapping[str, str]
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: int = 0  # answers with another status (or body) than the scenario expects
    sample_error: str = ""

    @property
    def count(self) -> int:
        return len(self.latencies_s)

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return 0.0
        ordered = sorted(self.latencies_s)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index] * 1000


@dataclass(frozen=True)
class Expect:
    status: int
    body: bytes | None = None  # exact body, when the protocol fixes it (Alipay: "success")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    keep_alive = headers.get(b"connection", b"").lower() != b"close"
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"])), keep_alive
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        return status, await _read_chunked(reader), keep_alive
    return status, b"", keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return body
        body += chunk[:-2]


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        writer.write(request)
        status, body, keep_alive = await _read_response(reader)
        if not keep_alive:
            self.close()
        return status, body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def _fire(
    host: str, port: int, requests: Sequence[bytes], concurrency: int, expect: Expect
) -> LoadResult:
    result = LoadResult()
    pending = iter(requests)

    async def connection_loop() -> None:
        conn = _Connection(host, port)
        try:
            for request in pending:
                started = time.perf_counter()
                try:
                    status, body = await conn.exchange(request)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    conn.close()
                    status, body = 0, repr(exc).encode()
                result.latencies_s.append(time.perf_counter() - started)
                result.statuses[status] += 1
                if status != expect.status or (expect.body is not None and body != expect.body):
                    result.unexpected += 1
                    result.sample_error = result.sample_error or f"{status} {body[:300]!r}"
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection_loop() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def fire(
    host: str, port: int, requests: Sequence[bytes], *, concurrency: int, expect: Expect
) -> LoadResult:
    """Send every request once; returns wall time, per-request latency and statuses."""
    return uvloop.run(_fire(host, port, requests, concurrency, expect))
