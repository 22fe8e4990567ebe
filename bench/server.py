"""The server under test: `publicpay serve` (granian, N workers, production settings) as its own
process, configured through PUBLICPAY_* variables like a production deployment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.database import BenchDb

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`with Server(db, workers=2) as server: …` — started, ready, then stopped."""

    def __init__(self, db: BenchDb, *, workers: int) -> None:
        self.db = db
        self.workers = workers
        self.port = free_port()
        self.host = "127.0.0.1"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = ROOT / "bench" / f".server-{self.port}.log"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Server:
        env = {
            **os.environ,
            "PUBLICPAY_MODE": "production",
            "PUBLICPAY_DATABASE_URL": self.db.url,
            "PUBLICPAY_SECRET_KEY": self.db.secret_key,
            "PUBLICPAY_PUBLIC_BASE_URL": self.base_url,
            "PUBLICPAY_LOG_LEVEL": "WARNING",
            # one credential sends every request: measure the path, not the per-client limit
            # (the limiter still runs on every request)
            "PUBLICPAY_API_RATE_PER_S": "1000000",
            "PUBLICPAY_API_RATE_BURST": "1000000",
        }
        command = [sys.executable, "-m", "publicpay.cli", "serve", "--host", self.host]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        assert self._proc is not None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"server exited: {self._log.read_text()[-2000:]}")
            try:
                # one request per worker is not guaranteed to reach each worker; a few do
                for _ in range(4 * self.workers):
                    httpx.get(f"{self.base_url}/readyz", timeout=2).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout_s} s")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (granian's workers; the process itself if none)."""
        assert self._proc is not None
        children = Path(f"/proc/{self._proc.pid}/task/{self._proc.pid}/children")
        pids = [int(p) for p in children.read_text().split()] if children.exists() else []
        return [pid for pid in pids if _is_python(pid)] or [self._proc.pid]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.unlink(missing_ok=True)


def _is_python(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"python" in cmdline and b"resource_tracker" not in cmdline
