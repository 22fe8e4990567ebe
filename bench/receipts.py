"""E-receipt benchmark: receipts issued + signed per second, PDFs rendered per second.

    .venv/bin/python -m bench.receipts [--db sqlite|postgresql] [--count 2000] [--procs 2]

1. Setup (not timed): a fresh database, migrated and seeded; `count` payables registered and paid
   through the real services (`register_payable`, an order, `apply_trade` with a successful
   TradeResult), which enqueues one receipt job each, spread over the demo units.
2. issue: `procs` worker processes run `issue_due_receipts` (the worker's task: lease a batch of
   due jobs, then per unit one transaction: lock the payables, draw a block of numbers under the
   range lock, XML, unit + finance SM2 signatures, store, events, audit) until no job is left.
   Rate = receipts / wall time.
3. sign only: the same XML + two signatures with no database, `procs` processes (the ceiling).
4. pdf: `procs` processes render the stored receipts (face read back from the XML, A5 PDF).
Each row also gives the CPU time per item: of the bench processes themselves ("worker CPU"), and
of the whole machine from /proc/stat ("machine CPU": includes PostgreSQL, and anything else that
runs meanwhile: compare it with the load average printed above the table).
Prints a Markdown table. Never run inside the tests.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):  # `python bench/receipts.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, select, text

from publicpay.adapters.crypto import sm2
from publicpay.adapters.db import migrate
from publicpay.adapters.db.receipts.tables import receipts
from publicpay.adapters.receipts.formats import ReceiptFormats, face_from_xml
from publicpay.bootstrap import build
from publicpay.demo.seed import demo_payers, seed
from publicpay.domain.payables import LineRequest, Payer, PayerType
from publicpay.domain.payments.channels import TradeResult, TradeState
from publicpay.domain.payments.orders import Order, OrderMethod, OrderStatus
from publicpay.services.payables.registration import RegisterPayable, register_payable
from publicpay.services.payments.orders import apply_trade, new_order_no
from publicpay.services.receipts.building import ReceiptPolicy
from publicpay.services.receipts.issuing import issue_due_receipts
from publicpay.settings import Mode, Settings

FIXED_ITEMS = ((0, "GA0101"), (1, "GA0301"), (2, "JY0101"))  # (demo unit, fixed-fee item)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _settings(url: str) -> Settings:
    return Settings(mode=Mode.TEST, database_url=url, public_base_url="http://127.0.0.1:8000")


def _database(kind: str) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='pp-bench-')}/bench.db", None
    name = f"publicpay_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def _drop(name: str | None) -> None:
    if name:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def setup(url: str, count: int) -> None:
    """Migrate, seed, and pay `count` payables through the services (receipt jobs enqueued)."""
    migrate.upgrade(url)
    c = build(_settings(url))
    with c.uow() as uow:
        seed(uow, c.clock.now(), region_code=c.settings.region_code)
        unit_ids = list(uow.connection.execute(text("SELECT id FROM units ORDER BY id")).scalars())
        uow.commit()
    payer = demo_payers()[0]
    for i in range(count):
        unit_index, item = FIXED_ITEMS[i % len(FIXED_ITEMS)]
        cmd = RegisterPayable(
            unit_id=unit_ids[unit_index],
            biz_no=f"BENCH{i:08d}",
            payer=Payer(payer["name"], PayerType.PERSON, payer["id_no"]),
            items=(LineRequest(item, 1),),
        )
        payable = register_payable(c.uow(), cmd, region_code=c.settings.region_code, clock=c.clock)
        _pay(c, payable.payable.id, payable.payable.amount_fen)
    c.close()


def _pay(c: object, payable_id: int, amount: int) -> None:
    from publicpay.bootstrap import Container

    assert isinstance(c, Container)
    now = c.clock.now()
    order = Order(
        id=0, order_no=new_order_no(now), payable_id=payable_id, channel="alipay",
        method=OrderMethod.QR, amount_fen=amount, status=OrderStatus.PAYING, qr_code=None,
        channel_trade_no=None, created_at=now, expires_at=now + timedelta(minutes=15),
    )  # fmt: skip
    with c.uow() as uow:
        uow.orders.add(order)
        uow.commit()
    result = TradeResult(order.order_no, TradeState.SUCCEEDED, amount, "T" + order.order_no, now)
    apply_trade(c.uow(), result, clock=c.clock)


def _issue_worker(url: str) -> tuple[int, float]:
    c = build(_settings(url))
    policy, formats, issued = ReceiptPolicy(c.settings.public_base_url), ReceiptFormats(), 0
    cpu = time.process_time()
    while True:
        done = issue_due_receipts(c.uow, formats, policy=policy, clock=c.clock)
        with c.read_uow() as uow:
            left = uow.connection.execute(
                text("SELECT count(*) FROM receipt_jobs WHERE status = 'pending'")
            ).scalar_one()
        issued += done
        if not left:
            break
    cpu = time.process_time() - cpu
    c.close()
    return issued, cpu


def _sign_worker(args: tuple[bytes, int]) -> tuple[int, float]:
    xml, count = args
    formats = ReceiptFormats()
    face = face_from_xml(xml)
    unit = sm2.Sm2Signer(sm2.generate_private_key_pem())
    finance = sm2.Sm2Signer(sm2.generate_private_key_pem())
    cpu = time.process_time()
    for _ in range(count):
        formats.sign(formats.xml(face), unit, finance)
    return count, time.process_time() - cpu


def _pdf_worker(xmls: list[bytes]) -> tuple[int, float]:
    formats = ReceiptFormats()
    cpu = time.process_time()
    for xml in xmls:
        formats.pdf(formats.face(xml), reprint=False)
    return len(xmls), time.process_time() - cpu


def _warm() -> None:
    """Per process, untimed: load the CJK font (a one-off ~0.5 s cost of a worker's start)."""
    from publicpay.adapters.receipts.pdf import register_font

    register_font()


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _timed(pool: mp.pool.Pool, fn: object, jobs: list[object]) -> tuple[int, float, float, float]:
    """(items, wall seconds, worker CPU seconds, machine busy CPU seconds)."""
    busy, started = _machine_busy_s(), time.perf_counter()
    results = pool.map(fn, jobs)  # type: ignore[arg-type]
    wall, busy = time.perf_counter() - started, _machine_busy_s() - busy
    return sum(n for n, _ in results), wall, sum(cpu for _, cpu in results), busy


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    url, pg_name = _database(args.db)
    try:
        print(f"setup: {args.count} paid payables on {args.db} …", file=sys.stderr, flush=True)
        setup(url, args.count)
        ctx = mp.get_context("fork")
        with ctx.Pool(args.procs, initializer=_warm) as pool:
            issued = _timed(pool, _issue_worker, [url] * args.procs)
            with create_engine(url).connect() as conn:
                xmls = [bytes(x) for x in conn.execute(select(receipts.c.xml)).scalars()]
            share = len(xmls) // args.procs
            signed = _timed(pool, _sign_worker, [(xmls[0], share)] * args.procs)
            chunks = [xmls[i :: args.procs][: max(1, share // 4)] for i in range(args.procs)]
            pdfs = _timed(pool, _pdf_worker, chunks)
    finally:
        _drop(pg_name)
    print(f"\nload average before the run (1, 5, 15 min): {load}")
    print(f"\n| e-receipts ({args.db}, {args.procs} processes) | count | seconds | per second "
          "| worker CPU ms/item | machine CPU ms/item |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    rows = (
        ("issued + signed + stored (worker job)", issued),
        ("XML + unit & finance SM2 signatures only", signed),
        ("PDF rendered (A5, CJK font subset, QR)", pdfs),
    )
    for label, (count, wall, cpu, busy) in rows:
        print(
            f"| {label} | {count} | {wall:.2f} | {count / wall:,.0f} "
            f"| {cpu / count * 1000:.2f} | {busy / count * 1000:.2f} |"
        )


if __name__ == "__main__":
    main()
