"""Who used the 2 cores during a run: CPU seconds (user+system, from /proc) of the server's
processes, of every PostgreSQL backend, of the load generator itself, and of everything else
on the machine (other people's test runs: when that is high, the rates are depressed)."""

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


def _postgres_pids(database: str) -> list[int]:
    """The cluster's own processes (WAL writer, checkpointer…) and the backends serving
    `database`; other databases' backends (colleagues' tests) count as `other`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() != "postgres":
                    continue
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            client_backend = "(" in cmdline  # "postgres: 15/main: user db 127.0.0.1(port) …"
            if not client_backend or (database and f" {database} " in cmdline):
                pids.append(int(entry.name))
    return pids


def _machine_busy_s() -> float:
    """All CPUs' non-idle time (user, nice, system, irq, softirq, steal) since boot."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


@dataclass(frozen=True)
class Snapshot:
    server: dict[int, float]
    postgres: dict[int, float]
    load: float
    machine: float

    @classmethod
    def take(cls, server_pids: list[int], database: str) -> Snapshot:
        """`database`: the PostgreSQL database under test ("" for SQLite)."""
        return cls(
            {pid: _cpu_s(pid) for pid in server_pids},
            {pid: _cpu_s(pid) for pid in _postgres_pids(database)},
            _cpu_s(os.getpid()),
            _machine_busy_s(),
        )


@dataclass(frozen=True)
class CpuUse:
    server_s: float
    postgres_s: float
    load_s: float
    other_s: float

    @classmethod
    def between(cls, before: Snapshot, after: Snapshot) -> CpuUse:
        def delta(a: dict[int, float], b: dict[int, float]) -> float:
            return sum(b[pid] - a.get(pid, 0.0) for pid in b)

        # backends that ended during the run are lost; their share is small (pooled connections)
        server = delta(before.server, after.server)
        postgres = delta(before.postgres, after.postgres)
        load = after.load - before.load
        other = after.machine - before.machine - server - postgres - load
        return cls(server, postgres, load, max(0.0, other))

    def per_request_ms(self, requests: int) -> str:
        if not requests:
            return "-"
        shares = (self.server_s, self.postgres_s, self.load_s, self.other_s)
        return " / ".join(f"{1000 * x / requests:.2f}" for x in shares)
