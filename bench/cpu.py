"""Who used the 2 cores during a run: CPU seconds (user+system, from /proc) of the server's
processes, of every PostgreSQL backend, and of the load generator itself."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@dataclass(frozen=True)
class Snapshot:
    server: dict[int, float]
    postgres: dict[int, float]
    load: float

    @classmethod
    def take(cls, server_pids: list[int]) -> Snapshot:
        return cls(
            {pid: _cpu_s(pid) for pid in server_pids},
            {pid: _cpu_s(pid) for pid in _postgres_pids()},
            _cpu_s(os.getpid()),
        )


@dataclass(frozen=True)
class CpuUse:
    server_s: float
    postgres_s: float
    load_s: float

    @classmethod
    def between(cls, before: Snapshot, after: Snapshot) -> CpuUse:
        def delta(a: dict[int, float], b: dict[int, float]) -> float:
            return sum(b[pid] - a.get(pid, 0.0) for pid in b)

        # backends that ended during the run are lost; their share is small (pooled connections)
        return cls(
            delta(before.server, after.server),
            delta(before.postgres, after.postgres),
            after.load - before.load,
        )

    def per_request_ms(self, requests: int) -> str:
        if not requests:
            return "-"
        server, pg, load = (1000 * x / requests for x in (self.server_s, self.postgres_s, self.load_s))
        return f"{server:.2f} / {pg:.2f} / {load:.2f}"
