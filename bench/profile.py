"""Profile the server while it serves a scenario: `py-spy record --gil` (samples only the thread
holding the GIL, i.e. where the worker's CPU goes) on each worker, summarised by function."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")

# Inclusive cost of these frames (a frame counts once per sample even when recursive).
WATCHED = (
    ("signed request check (auth.signed_call)", "signed_call (publicpay/api/auth.py"),
    ("nonce INSERT (in the registration's transaction)", "UnitsRepository.remember_nonce"),
    ("register_payable (service)", "register_payable (publicpay/services/payables/registration.py"),
    (
        "handle_notification (service)",
        "handle_notification (publicpay/services/payments/notifications.py",
    ),
    ("  parse_notification (verify/decrypt)", ".parse_notification ("),
    (
        "  store + apply + mark (one transaction)",
        "_apply_new_payment (publicpay/services/payments/notif",
    ),
    ("    apply_trade_in (paid, ledger…)", "apply_trade_in (publicpay/services/payments/orders"),
    ("response model (payable_body + pydantic)", "payable_body (publicpay/api/presenters.py"),
    ("SQLAlchemy Connection.execute (all)", "Connection.execute (sqlalchemy/engine/base.py"),
    ("  SQL compile (cache miss/lookup)", "_compile_w_cache (sqlalchemy/sql/elements.py"),
    ("  psycopg cursor.execute", "Cursor.execute (psycopg/cursor.py"),
    ("SQLAlchemy connect/begin/commit/close", "SqlUnitOfWork.__e"),
    ("  commit", "SqlUnitOfWork.commit"),
    ("pool checkout/checkin", "_ConnectionFairy._checkout"),
    ("sqlite3 execute", "sqlite3"),
    ("FastAPI request validation/serialisation", "serialize_response (fastapi/routing.py"),
    ("FastAPI dependency solving", "solve_dependencies (fastapi/dependencies/utils.py"),
    ("uvicorn/httptools protocol", "httptools_impl.py"),
    ("anyio thread hand-off (run_sync)", "run_sync_in_worker_thread"),
)


@dataclass
class Profile:
    samples: int = 0
    stacks: Counter[str] = field(default_factory=Counter)

    def inclusive(self, needle: str) -> int:
        return sum(n for stack, n in self.stacks.items() if needle in stack)

    def self_time(self, top: int = 15) -> list[tuple[str, int]]:
        leaf: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            leaf[stack.rsplit(";", 1)[-1]] += n
        return leaf.most_common(top)

    def report(self, requests: int, workers: int) -> list[str]:
        """Lines of 'share of GIL-held samples, and µs of Python CPU per request'."""
        if not self.samples or not requests:
            return ["(no samples)"]
        per_sample_us = 1e6 / RATE_HZ
        total_us = self.samples * per_sample_us / requests
        lines = [
            f"{self.samples} GIL-held samples at {RATE_HZ} Hz over {workers} worker(s), "
            f"{requests} requests: ≈ {total_us:,.0f} µs of GIL time per request",
            "| where (inclusive) | share | µs/request |",
            "|---|---:|---:|",
        ]
        for title, needle in WATCHED:
            n = self.inclusive(needle)
            if n:
                share = n / self.samples
                lines.append(f"| {title} | {share:.0%} | {share * total_us:,.0f} |")
        lines += ["", "| hottest leaf frames (self) | share |", "|---|---:|"]
        for frame, n in self.self_time():
            lines.append(f"| `{frame}` | {n / self.samples:.1%} |")
        return lines


RATE_HZ = 250
FLAGS = ("-r", str(RATE_HZ), "--gil", "--nonblocking")


def available() -> bool:
    return PY_SPY.exists() or shutil.which("py-spy") is not None


class Recorder:
    """Start `py-spy record` on the workers; `stop()` returns the merged profile."""

    def __init__(self, pids: list[int], out_dir: Path) -> None:
        binary = str(PY_SPY) if PY_SPY.exists() else "py-spy"
        self._files = [out_dir / f"py-spy-{pid}.txt" for pid in pids]
        self._procs = [
            subprocess.Popen(
                [binary, "record", "-p", str(pid), "-f", "raw", "-o", str(path), *FLAGS],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid, path in zip(pids, self._files, strict=True)
        ]
        time.sleep(0.5)  # let py-spy attach before the timed batch starts

    def stop(self) -> Profile:
        profile = Profile()
        for proc in self._procs:
            proc.send_signal(signal.SIGINT)
        for proc, path in zip(self._procs, self._files, strict=True):
            proc.wait(timeout=60)
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if count.isdigit():
                    profile.stacks[_strip(stack)] += int(count)
                    profile.samples += int(count)
            path.unlink()
        return profile


def _strip(stack: str) -> str:
    return stack.replace("/work/main/.venv/lib/python3.11/site-packages/", "").replace(
        "/work/main/src/", ""
    )
