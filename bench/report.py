"""The results table (Markdown) and the notes printed with it."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass, replace
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from bench.cpu import CpuUse
from bench.load import LoadResult
from publicpay.settings import Settings

HEADER = (
    "| scenario | database | workers | requests | rps | p50 ms | p99 ms "
    "| ceiling (raw SQL) tx/s | non-2xx | CPU ms/req: server / PG / load / other | probe ms |"
)
RULE = "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"


@dataclass
class Row:
    scenario: str  # register | alipay | wechat
    title: str
    database: str
    kind: str
    workers: int
    result: LoadResult
    cpu: CpuUse
    probe_ms: float = 0.0  # bench/probe.py just before the timed batch: the machine's phase
    ceiling: LoadResult | None = None
    runs: tuple[float, ...] = ()  # every run's rps when the bench repeated this row

    def line(self) -> str:
        r = self.result
        ceiling = f"{self.ceiling.rps:,.0f}" if self.ceiling else "-"
        return (
            f"| {self.title} | {self.database} | {self.workers} | {r.count:,} | {r.rps:,.0f} "
            f"| {r.percentile_ms(50):.1f} | {r.percentile_ms(99):.1f} | {ceiling} "
            f"| {r.unexpected} | {self.cpu.per_request_ms(r.count)} | {self.probe_ms:.0f} |"
        )


def medians(rows: list[Row]) -> list[Row]:
    """One row per (scenario, database, workers): the run with the median rate, carrying every
    run's rate (for a table of repeated runs)."""
    groups: dict[tuple[str, str, int], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.scenario, row.database, row.workers), []).append(row)
    out = []
    for group in groups.values():
        ranked = sorted(group, key=lambda row: row.result.rps)
        middle = ranked[(len(ranked) - 1) // 2]
        out.append(replace(middle, runs=tuple(row.result.rps for row in group)))
    return out


def runs_lines(rows: list[Row]) -> list[str]:
    """Every run's rate of the rows that were repeated."""
    lines = []
    for row in rows:
        if len(row.runs) > 1:
            rates = " / ".join(f"{rps:,.0f}" for rps in row.runs)
            lines.append(f"- {row.title}, {row.database}, {row.workers} worker(s): {rates}")
    return (
        ["Every run (rps, in order; the table shows the median run):", "", *lines] if lines else []
    )


def table(rows: list[Row]) -> list[str]:
    return [HEADER, RULE, *(row.line() for row in rows)]


def ceiling_lines(ceilings: dict[tuple[str, str], LoadResult], concurrency: int) -> list[str]:
    lines = [
        f"Raw SQL ceilings ({concurrency} threads, one connection each, no HTTP, no SQLAlchemy):",
        "",
        "| transaction | database | transactions | tx/s | p50 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (what, database), r in ceilings.items():
        lines.append(
            f"| {what} | {database} | {r.count:,} | {r.rps:,.0f} | {r.percentile_ms(50):.1f} "
            f"| {r.percentile_ms(99):.1f} |"
        )
    return lines


def target_lines(rows: list[Row]) -> list[str]:
    lines = []
    best: dict[str, float] = {}
    for row in rows:
        if row.kind == "postgresql":
            best[row.scenario] = max(best.get(row.scenario, 0.0), row.result.rps)
    for scenario, target in (("register", 1000), ("alipay", 800), ("wechat", 800)):
        if scenario in best:
            verdict = "met" if best[scenario] >= target else "NOT met"
            lines.append(
                f"- Target {scenario} ≥ {target}/s on PostgreSQL over HTTP: best configuration "
                f"{best[scenario]:,.0f}/s (median of its runs) → {verdict}"
            )
    for row in rows:
        if row.scenario != "wechat":
            continue
        alipay = next(
            (
                r
                for r in rows
                if r.scenario == "alipay" and (r.kind, r.workers) == (row.kind, row.workers)
            ),
            None,
        )
        if alipay and alipay.result.rps:
            ratio = row.result.rps / alipay.result.rps
            verdict = "within 20 %" if ratio >= 0.8 else "MORE than 20 % slower"
            lines.append(
                f"- WeChat/Alipay notify, {row.database}, {row.workers} worker(s): "
                f"{ratio:.0%} → {verdict}"
            )
    return lines


def environment_lines(concurrency: int) -> list[str]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in ("fastapi", "starlette", "granian", "sqlalchemy", "psycopg", "pydantic")
    )
    return [
        f"- Machine: {os.cpu_count()} vCPU ({cpu}), Python {platform.python_version()}, "
        f"{_pg_version()}, SQLite {sqlite3.sqlite_version}; {packages}.",
        "- Server: `publicpay serve` (granian ASGI, uvloop, production settings, "
        f"a fixed pool of PUBLICPAY_DB_POOL_SIZE ({_pool_size()}) connections per worker, as "
        "many threads for the two hot routes) as its own process.",
        f"- Load: {concurrency} keep-alive connections, closed loop, pre-built signed requests "
        "(bench/load.py, asyncio + uvloop streams); a warm-up batch precedes each timed batch.",
        "- **Server, PostgreSQL and the load generator share the same 2 cores** (as in perf.md). "
        "The CPU column shows who used them, in ms of CPU per timed request: the server's "
        "processes, PostgreSQL (cluster processes + the bench database's backends), the load "
        "generator, and everything else on the "
        "machine (`other`: e.g. colleagues' test runs; when it is high the rates are depressed, "
        "while the server's ms/request stays comparable).",
        f"- Run at {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; perf.md saw ±25 % run-to-run "
        "spread on this VM (`--repeat 3` takes the median of three runs).",
    ]


def _pg_version() -> str:
    try:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "PostgreSQL ?"
    return f"PostgreSQL {out.split()[0]}"


def _pool_size() -> int:
    """What the server reads: PUBLICPAY_DB_POOL_SIZE, or the default."""
    return Settings(secret_key="unused-by-the-report").db_pool_size
