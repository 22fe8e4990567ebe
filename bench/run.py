"""PublicPay benchmark, one command: `.venv/bin/python -m bench.run [--quick] [--profile]`.

For SQLite (file, WAL; 1 worker) and PostgreSQL (fresh `publicpay_bench_<random>` database;
1 and 2 workers): signed registrations, Alipay and WeChat Pay notifications over real HTTP
against `publicpay serve`, then the same writes as raw SQL (the ceiling). Prints a Markdown
table and writes it to bench/results.md (full runs) — see bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import database, layers, raw_sql, report, scenarios
from bench.channels import ChannelKeys
from bench.cpu import CpuUse, Snapshot
from bench.load import LoadResult, fire
from bench.parse import parse_rates
from bench.probe import probe_ms
from bench.profile import Recorder, available
from bench.server import Server
from publicpay.domain.payments.channels import Channel

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Plan:
    register: int  # timed registrations per server configuration
    notify: int  # timed notifications per channel per configuration (≤ register / 2)
    warmup: float  # warm-up batch, as a share of the timed batch
    concurrency: int
    configs: tuple[tuple[str, int], ...]  # (database kind, workers)
    parse_count: int
    layers: int  # requests per single-threaded layer measurement (0: skip)

    def warm(self, count: int) -> int:
        return max(10, int(count * self.warmup))


FULL = Plan(3000, 1500, 0.1, 32, (("sqlite", 1), ("postgresql", 1), ("postgresql", 2)), 500, 300)
QUICK = Plan(200, 100, 0.1, 32, (("sqlite", 1), ("postgresql", 1)), 50, 0)


class Bench:
    def __init__(self, plan: Plan, *, profile: bool, repeat: int = 1) -> None:
        self.plan = plan
        self.repeat = repeat
        self.profile = profile and available()
        self.rows: list[report.Row] = []
        self.ceilings: dict[tuple[str, str], LoadResult] = {}
        self.profiles: list[str] = []
        self.notes: list[str] = []
        self.layer_lines: list[str] = []

    def run_database(self, kind: str) -> None:
        db = database.create(kind)
        try:
            keys = database.prepare(db)
            for config_kind, workers in self.plan.configs:
                if config_kind == kind:
                    self.run_server(db, keys, workers)
            self.run_ceilings(db)
            if self.plan.layers and not self.layer_lines_for(db):
                self.layer_lines += [*layers.measure(db, keys, self.plan.layers), ""]
            if kind == self.plan.configs[0][0] and not self.notes:
                rates = parse_rates(db, keys, self.plan.parse_count)
                self.notes.append(
                    "- Adapters alone, `parse_notification` single-threaded: "
                    + ", ".join(f"{ch} {rate:,.0f}/s" for ch, rate in rates.items())
                    + f" (WeChat/Alipay {rates['wechat'] / rates['alipay']:.0%})."
                )
        finally:
            db.drop()

    def layer_lines_for(self, db: database.BenchDb) -> bool:
        return any(db.name in line for line in self.layer_lines)

    def run_server(self, db: database.BenchDb, keys: ChannelKeys, workers: int) -> None:
        plan = self.plan
        with Server(db, workers=workers) as server:
            host = f"{server.host}:{server.port}"
            registering = scenarios.registrations(
                db, host, plan.register + plan.warm(plan.register)
            )
            self.timed(server, registering, plan.warm(plan.register), workers)
            builders = (
                (Channel.ALIPAY, scenarios.alipay_notifications),
                (Channel.WECHAT, scenarios.wechat_notifications),
            )
            for channel, build in builders:
                total = plan.notify + plan.warm(plan.notify)
                notifying = build(keys, host, database.open_orders(db, channel, total))
                self.timed(server, notifying, plan.warm(plan.notify), workers)
        _say(f"    database now: {database.counts(db).line()}")

    def timed(self, server: Server, scenario: scenarios.Scenario, warm: int, workers: int) -> None:
        concurrency = self.plan.concurrency
        warmup = fire(
            server.host,
            server.port,
            scenario.requests[:warm],
            concurrency=concurrency,
            expect=scenario.expect,
        )
        pids = server.worker_pids()
        recorder = Recorder(pids, HERE) if self.profile else None
        pg_name = server.db.database_name
        probed = probe_ms()
        before = Snapshot.take(pids, pg_name)
        result = fire(
            server.host,
            server.port,
            scenario.requests[warm:],
            concurrency=concurrency,
            expect=scenario.expect,
        )
        cpu = CpuUse.between(before, Snapshot.take(pids, pg_name))
        row = report.Row(
            scenario.key,
            scenario.title,
            server.db.name,
            server.db.kind,
            workers,
            result,
            cpu,
            probed,
        )
        self.rows.append(row)
        _say(row.line())
        if warmup.unexpected or result.unexpected:
            _say(f"    unexpected answers, e.g.: {result.sample_error or warmup.sample_error}")
        if recorder is not None:
            heading = f"{scenario.title}, {server.db.name}, {workers} worker(s)"
            lines = recorder.stop().report(result.count, workers)
            self.profiles += [f"### py-spy: {heading}", "", *lines, ""]

    def run_ceilings(self, db: database.BenchDb) -> None:
        plan = self.plan
        registered = raw_sql.registrations(db, plan.register, plan.concurrency, unit_id=1)
        orders = database.open_orders(db, Channel.ALIPAY, plan.notify)
        confirmed = raw_sql.confirmations(db, orders, plan.concurrency, postings=2)
        self.ceilings[("registration", db.name)] = registered
        self.ceilings[("confirmation", db.name)] = confirmed
        for row in self.rows:
            if row.kind == db.kind:
                row.ceiling = registered if row.scenario == "register" else confirmed
        _say(
            f"    raw SQL ceilings {db.name}: registration {registered.rps:,.0f} tx/s, "
            f"confirmation {confirmed.rps:,.0f} tx/s"
        )

    def output(self, elapsed_s: float) -> list[str]:
        plan = self.plan
        rows = report.medians(self.rows)
        lines = ["# PublicPay benchmark", "", *report.table(rows), ""]
        lines += ["Targets (issues 2 and 3):", "", *report.target_lines(rows), *self.notes, ""]
        lines += report.runs_lines(rows)
        lines += ["", *report.ceiling_lines(self.ceilings, plan.concurrency), ""]
        lines += self.layer_lines
        lines += ["Conditions:", "", *report.environment_lines(plan.concurrency)]
        lines.append(
            f"- Per configuration: {plan.register:,} timed registrations and {plan.notify:,} "
            f"timed notifications per channel, each after a {plan.warmup:.0%} warm-up; "
            f"whole run {elapsed_s:.0f} s; each database run {self.repeat} time(s), the table "
            "shows the median run."
        )
        lines.append(
            "- `probe ms`: a fixed pure-Python loop (bench/probe.py) timed just before each "
            "timed batch; this VM's speed drifts (lower = faster phase)."
        )
        if self.profile:
            lines.append("- **Profiled run**: py-spy sampled the workers, so rates are lower.")
            lines += ["", "## Where the server's time goes", "", *self.profiles]
        return lines


def _say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~20 s smoke run")
    parser.add_argument("--profile", action="store_true", help="py-spy the workers too")
    parser.add_argument("--db", choices=("all", "sqlite", "postgresql"), default="all")
    parser.add_argument("--out", type=Path, help="Markdown file (default: bench/results.md)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each database N times; the table shows medians"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    kinds = {"all": ("sqlite", "postgresql")}.get(args.db, (args.db,))
    if "postgresql" in kinds and not database.pg_available():
        print("PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres): SQLite only")
        kinds = ("sqlite",)
    plan = replace(plan, configs=tuple(c for c in plan.configs if c[0] in kinds))
    bench = Bench(plan, profile=args.profile, repeat=max(1, args.repeat))
    started = time.monotonic()
    _say(report.HEADER)
    _say(report.RULE)
    for _ in range(bench.repeat):
        for kind in dict.fromkeys(kind for kind, _ in plan.configs):
            bench.run_database(kind)
    text = "\n".join(bench.output(time.monotonic() - started)) + "\n"
    print("\n" + text)
    partial = args.quick or args.profile or args.db != "all"
    out = args.out or (None if partial else HERE / "results.md")
    if out is not None:
        out.write_text(text)
        print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
