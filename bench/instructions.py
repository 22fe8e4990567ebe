"""Instructions per request, counted rather than timed: `python -m bench.instructions`.

This VM's speed drifts by ±25 % from one minute to the next (perf.md) and it has no hardware
counters, so two commits' request rates can only be compared by many interleaved runs on a quiet
machine. Instruction counts under `valgrind --tool=callgrind` are the same on every run (within
about 1 %) whatever else the machine is doing, so a change's cost can be seen at once:

- **server**: the application in this process, built as `publicpay serve` builds it (production
  settings, every middleware), fed each request's bytes as they arrive over HTTP; the two hot
  routes' thread hand-off runs inline. Instrumented only while the counted requests run.
- **PostgreSQL**: the backends serving the same requests (through the services: registration
  route code, `handle_notification`), in a private cluster started under callgrind in a
  temporary folder. Counted as (cost of W + N requests − cost of W) / N, each on fresh
  connections, which takes each backend's start-up out.

Not counted: the kernel, the HTTP server's Rust side (granian), the load generator. Options:
`--requests N` (default 200), `--part server|postgresql|all`. Needs valgrind (and, for the
PostgreSQL part, the server binaries: `initdb`, `postgres`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import database, layers, scenarios
from bench.server import free_port
from publicpay.domain.payments.channels import Channel
from publicpay.services.payments.notifications import handle_notification

WARM = 50
SCENARIOS = ("register", "alipay", "wechat")
TITLES = {
    "register": "register payable (signed API)",
    "alipay": "confirm payment: Alipay notify",
    "wechat": "confirm payment: WeChat Pay notify",
}


# --- server: this application under callgrind


def server_counts(requests: int) -> dict[str, float]:
    """Run the server part in a child under callgrind; instructions per request by scenario."""
    with tempfile.TemporaryDirectory(prefix="publicpay-callgrind-") as out:
        command = [
            "valgrind",
            "--quiet",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}/cg.%p",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child-server",
            str(requests),
        ]
        env = {**os.environ, "PUBLICPAY_API_RATE_PER_S": "1000000"}
        env["PUBLICPAY_API_RATE_BURST"] = "1000000"
        subprocess.run(command, check=True, env=env, cwd=Path(__file__).resolve().parents[1])
        totals = _dumped_totals(Path(out))
    return {name: totals[name] / requests for name in SCENARIOS}


def _dumped_totals(folder: Path) -> dict[str, int]:
    """`totals:` of each callgrind dump, by the name it was dumped with."""
    found: dict[str, int] = {}
    for path in folder.glob("cg.*.*"):
        text = path.read_text(errors="ignore")
        trigger = next((ln for ln in text.splitlines() if ln.startswith("desc: Trigger:")), "")
        name = trigger.rsplit(" ", 1)[-1]
        total = next((ln for ln in text.splitlines() if ln.startswith("totals:")), "totals: 0")
        found[name] = found.get(name, 0) + int(total.split()[1])
    return found


def _callgrind(*args: str) -> None:
    command = ["callgrind_control", *args, str(os.getpid())]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _child_server(requests: int) -> None:
    """(Under callgrind.) The ASGI app in this process; counted requests between toggles."""
    import publicpay.api.threads as threads
    from publicpay.api.app import create_app

    async def inline(_request: Any, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    threads.run = inline  # type: ignore[assignment]
    db = database.create("postgresql")
    try:
        keys = database.prepare(db)
        container = layers._container(db)
        app = create_app(container)
        host = "127.0.0.1:8000"
        total = WARM + requests

        registrations = scenarios.registrations(db, host, 3 * total).requests

        def built(name: str) -> list[bytes]:
            if name == "register":
                return registrations[:total]
            orders = database.open_orders(db, Channel(name), total)
            build = getattr(scenarios, f"{name}_notifications")
            return list(build(keys, host, orders).requests)

        async def run() -> None:
            for name in SCENARIOS:
                batch = built(name)
                for raw in batch[:WARM]:
                    await _asgi_call(app, raw)
                _callgrind("-d", "warm")
                _callgrind("-i", "on")
                for raw in batch[WARM:]:
                    await _asgi_call(app, raw)
                _callgrind("-i", "off")
                _callgrind("-d", name)
                if name == "register":  # payables for the confirmations to pay (not counted)
                    for raw in registrations[total:]:
                        await _asgi_call(app, raw)

        asyncio.new_event_loop().run_until_complete(run())
        container.close()
    finally:
        db.drop()


async def _asgi_call(app: Any, raw: bytes) -> None:
    """One HTTP request's bytes through the ASGI app, as the server would hand them over."""
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    method, target, _ = lines[0].split(b" ")
    path, _, query = target.decode().partition("?")
    headers = [(k.strip().lower(), v.strip()) for k, v in (ln.split(b":", 1) for ln in lines[1:])]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.decode(),
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "root_path": "",
        "state": {},
    }
    sent, status = False, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    if not status or status[0] >= 300:
        raise RuntimeError(f"unexpected answer {status} to {lines[0]!r}")


# --- PostgreSQL: a private cluster under callgrind


def postgresql_counts(requests: int) -> dict[str, float]:
    with _cluster() as (admin_url, out):
        database.PG_ADMIN_URL = admin_url
        db = database.create("postgresql")
        try:
            return _backend_counts(db, out, requests)
        finally:
            db.drop()


def _backend_counts(db: database.BenchDb, out: Path, requests: int) -> dict[str, float]:
    keys = database.prepare(db)
    container = layers._container(db)
    try:
        register = layers._register_route(container)
        total = 2 * WARM + requests
        raws = scenarios.registrations(db, "bench", 3 * total).requests
        for raw in raws[total:]:  # payables for the confirmations to pay
            register(raw)
        url = f"{db.settings().public_base_url}/api/v1/notify/wechat"

        def items(name: str) -> list[Any]:  # built just before use: notifications are dated
            if name == "register":
                return list(raws[:total])
            orders = database.open_orders(db, Channel(name), total)
            if name == "alipay":
                return [keys.alipay_notification(*o) for o in orders]
            return [keys.wechat_notification(*o, url) for o in orders]

        counts = {}
        for name in SCENARIOS:
            run = register if name == "register" else _notifier(container, Channel(name))
            batch = items(name)
            for item in batch[:WARM]:
                run(item)
            few = _backend_cost(container, db, out, partial(_each, run, batch[WARM : 2 * WARM]))
            many = _backend_cost(container, db, out, partial(_each, run, batch[2 * WARM :]))
            counts[name] = (many - few) / (requests - WARM)
        return counts
    finally:
        container.close()


def _each(run: Callable[[Any], None], batch: list[Any]) -> None:
    for item in batch:
        run(item)


def _notifier(container: Any, channel: Channel) -> Callable[[Any], None]:
    def notify(note: tuple[bytes, dict[str, str]]) -> None:
        body, headers = note
        gateways = container.gateways
        handle_notification(container.uow, gateways, channel, headers, body, clock=container.clock)

    return notify


def _backend_cost(container: Any, db: database.BenchDb, out: Path, work: Callable[[], Any]) -> int:
    """Instructions of the backends that served `work`, on connections of their own (their
    callgrind totals are written when they exit)."""
    container.engines.write.dispose()
    container.engines.read.dispose()
    work()
    pids = _backends(db)
    container.engines.write.dispose()
    container.engines.read.dispose()
    total = 0
    for pid in pids:
        dump = out / f"cg.{pid}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "totals:" not in _tail(dump):
            time.sleep(0.1)
        line = next((ln for ln in _tail(dump).splitlines() if ln.startswith("totals:")), "")
        total += int(line.split()[1]) if line else 0
    return total


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="ignore")[-500:]
    except FileNotFoundError:
        return ""


def _backends(db: database.BenchDb) -> list[int]:
    import psycopg

    admin = database.PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (db.database_name,)
        ).fetchall()
    return [int(row[0]) for row in rows]


@contextmanager
def _cluster() -> Iterator[tuple[str, Path]]:
    """A throwaway PostgreSQL cluster under callgrind: (admin URL, folder of its dumps)."""
    bindir = _pg_bindir()
    work = Path(tempfile.mkdtemp(prefix="publicpay-pg-callgrind-"))
    data, out = work / "data", work / "out"
    out.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(work, "postgres")
        shutil.chown(out, "postgres")
    port = free_port()
    init = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run([*as_user, *init], check=True, stdout=subprocess.DEVNULL)
    settings = ["-p", str(port), "-k", str(work), "-c", "listen_addresses=127.0.0.1"]
    settings += ["-c", "autovacuum=off"]  # as in the bench's server: nothing runs beside
    server = subprocess.Popen(
        [
            *as_user,
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}/cg.%p",
            str(bindir / "postgres"),
            "-D",
            str(data),
            *settings,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        _wait_ready(url.replace("postgresql+psycopg", "postgresql"))
        yield url, out
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


def _pg_bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        answer = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        bindir = answer.stdout
        if (Path(bindir.strip()) / "postgres").exists():
            return Path(bindir.strip())
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not candidates:
        raise SystemExit("no PostgreSQL server binaries (initdb, postgres) found")
    return candidates[-1].parent


def _wait_ready(url: str, timeout_s: float = 120.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# --- the table


def table(server: dict[str, float], backend: dict[str, float]) -> list[str]:
    lines = [
        "| scenario | server (Python process) | PostgreSQL backends | sum |",
        "|---|---:|---:|---:|",
    ]
    for name in SCENARIOS:
        a, b = server.get(name), backend.get(name)
        cells = [f"{v / 1e6:.3f} M" if v is not None else "-" for v in (a, b)]
        both = f"{(a + b) / 1e6:.3f} M" if a is not None and b is not None else "-"
        lines.append(f"| {TITLES[name]} | {cells[0]} | {cells[1]} | {both} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="counted requests per scenario")
    parser.add_argument("--part", choices=("server", "postgresql", "all"), default="all")
    parser.add_argument("--child-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_server:
        _child_server(args.child_server)
        return 0
    if shutil.which("valgrind") is None:  # `make bench` goes on with the timed benchmarks
        print("bench.instructions skipped: valgrind is not installed (apt-get install valgrind)")
        return 0
    if args.requests <= WARM:
        parser.error(f"--requests must be more than {WARM}")
    server = server_counts(args.requests) if args.part in ("server", "all") else {}
    backend = postgresql_counts(args.requests) if args.part in ("postgresql", "all") else {}
    heading = "Instructions per request (callgrind: counted, the same on every run):"
    print("\n".join([heading, "", *table(server, backend)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
