"""`publicpay` command line: demo, serve, worker, migrate, check, receipt verify; init,
admin create-user and audit verify (first start in production, issue 10)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from publicpay.settings import ConfigFileMissing, Mode, Settings

log = logging.getLogger("publicpay")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("PUBLICPAY_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except (ConfigFileMissing, ValidationError) as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="publicpay", description="统一公共支付平台 PublicPay")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the seeded demo (web + worker + emulators)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", default="./var/demo")
    demo.set_defaults(func=_demo)
    serve = sub.add_parser("serve", help="run the web/API server (production)")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server binds where told
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=_serve)
    worker = sub.add_parser("worker", help="run the background worker (production)")
    worker.add_argument("--once", action="store_true", help="run every task once and exit")
    worker.set_defaults(func=_worker)
    agent = sub.add_parser("kiosk-agent", help="the kiosk's card-reader agent (docs/kiosk.md)")
    agent.add_argument("--simulate", action="store_true", help="play a reader and a printer")
    agent.add_argument("--host", default="127.0.0.1")
    agent.add_argument("--port", type=int, default=17890)
    agent.add_argument("--id-no", default="", help="the ID card lying on the simulated reader")
    agent.add_argument("--name", default="", help="the name on that card")
    agent.add_argument("--allow-origin", default="*", help="the platform's origin (CORS)")
    agent.set_defaults(func=_kiosk_agent)  # devices and the kiosk (issue 13)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    sub.add_parser("check", help="verify ledger and consistency invariants").set_defaults(
        func=_check
    )
    # reconciliation and clearing (issue 12)
    reconcile = sub.add_parser("reconcile", help="reconcile a business day (对账)")
    reconcile.add_argument("--date", required=True, help="business day, YYYY-MM-DD")
    reconcile.add_argument(
        "--channel",
        default="all",
        choices=["all", "alipay", "wechat", "unionpay", "counter", "card", "bank"],
    )
    reconcile.add_argument("--file", help="import this statement file for the channel first")
    reconcile.set_defaults(func=_reconcile)
    clearing = sub.add_parser("clearing", help="clearing to the treasury (清算)")
    clearing_sub = clearing.add_subparsers(required=True, metavar="ACTION")
    clearing_run = clearing_sub.add_parser("run", help="clear a reconciled business day")
    clearing_run.add_argument("--date", required=True, help="business day, YYYY-MM-DD")
    clearing_run.set_defaults(func=_clearing_run)
    receipt = sub.add_parser("receipt", help="e-receipt tools")
    receipt_sub = receipt.add_subparsers(required=True, metavar="ACTION")
    verify = receipt_sub.add_parser("verify", help="verify both signatures of a receipt file")
    verify.add_argument("file", help="a signed receipt file (GET .../receipts/{code}/{no}/xml)")
    verify.add_argument(
        "--keys",
        help="trusted public keys: a PEM file, or the JSON of GET /api/v1/receipts/keys",
    )
    verify.add_argument("--keys-url", help="fetch the trusted keys from this URL")
    verify.set_defaults(func=_receipt_verify)
    _admin_commands(sub)
    return parser


# --- first start in production and the audit chain (issue 10, area: admin) -------------------

NEXT_STEPS = """下一步：
  1. 创建第一位财政管理员（一次性密码与身份验证器密钥只显示一次）：
     publicpay admin create-user --username fin_admin --role finance_admin --region {region}
  2. 启动服务：publicpay serve 与 publicpay worker
  3. 财政管理员登录 {base}/console ，首次登录须修改密码；然后在控制台依次设置
     行政区划、执收单位（网点与窗口）、收费项目与标准、单位授权、票据号段、渠道商户账户。
详见 docs/operator-guide.md。"""


def _admin_commands(sub: Any) -> None:
    init = sub.add_parser("init", help="prepare an empty production database (safe to rerun)")
    init.add_argument(
        "--region-name",
        default=os.environ.get("PUBLICPAY_REGION_NAME", ""),
        help="the name of the bureau's region (PUBLICPAY_REGION_CODE), e.g. 拱墅区",
    )
    init.set_defaults(func=_init)
    admin = sub.add_parser("admin", help="administration")
    admin_sub = admin.add_subparsers(required=True, metavar="ACTION")
    create = admin_sub.add_parser("create-user", help="create a console user (prints one JSON)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, help="finance_admin, finance_reviewer, "
                        "unit_admin, cashier or auditor")  # fmt: skip
    create.add_argument("--region", help="GB/T 2260 region code (finance roles, auditor)")
    create.add_argument("--unit", help="the unit's code (unit_admin, cashier)")
    create.set_defaults(func=_create_user)
    audit = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit.add_subparsers(required=True, metavar="ACTION")
    audit_sub.add_parser("verify", help="verify the audit log's hash chain").set_defaults(
        func=_audit_verify
    )


def _secret_key_set(settings: Settings) -> bool:
    try:
        settings.effective_secret_key()
    except RuntimeError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return False
    return True


def _init(args: argparse.Namespace) -> int:
    from publicpay.adapters.crypto import sm2
    from publicpay.adapters.db import migrate
    from publicpay.bootstrap import build
    from publicpay.domain.errors import DomainError
    from publicpay.services.units.administration import prepare_bureau

    settings = Settings()
    if not _secret_key_set(settings):
        return 2
    migrate.upgrade(settings.database_url)
    print("数据库已迁移到最新版本")
    container = build(settings)
    region = settings.region_code
    name = args.region_name.strip() or f"行政区划{region}"
    try:
        done = prepare_bureau(
            container.uow(), region, name, sm2.generate_private_key_pem, clock=container.clock
        )
    except DomainError as exc:
        print(f"初始化失败：{exc.detail}（PUBLICPAY_REGION_CODE={region}）", file=sys.stderr)
        return 2
    finally:
        container.close()
    added = "、".join(done.regions_added) or "无（已存在）"
    print(f"本级财政区划 {region}；新增区划：{added}")
    print("财政监制签名密钥：" + ("已生成" if done.finance_key_added else "已存在，未改动"))
    print(NEXT_STEPS.format(region=region, base=settings.public_base_url.rstrip("/")))
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from publicpay.bootstrap import build
    from publicpay.domain.access import UNIT_ROLES, Role
    from publicpay.domain.errors import DomainError
    from publicpay.services.users.accounts import NewUser, create_user, one_time_password

    settings = Settings()
    if not _secret_key_set(settings):
        return 2
    container = build(settings)
    try:
        unit_id = None
        region = args.region
        if args.unit:
            with container.read_uow() as uow:
                unit = uow.units.by_code(args.unit)
            if unit is None:
                print(f"执收单位 {args.unit} 不存在", file=sys.stderr)
                return 2
            if region and region != unit.region_code:
                print(f"单位 {args.unit} 不在区划 {region}", file=sys.stderr)
                return 2
            unit_id, region = unit.id, None
        elif args.role in UNIT_ROLES:
            print(f"角色 {args.role} 须用 --unit 指定所属执收单位", file=sys.stderr)
            return 2
        password = one_time_password()
        new = NewUser(args.username, password, args.role, region_code=region, unit_id=unit_id,
                      must_change_password=True)  # fmt: skip
        try:
            created = create_user(container.uow(), new, actor="cli:admin", clock=container.clock)
        except DomainError as exc:
            print(f"无法创建用户：{exc.detail}", file=sys.stderr)
            return 2
    finally:
        container.close()
    answer = {
        "username": created.username,
        "password": password,
        "totp_secret": created.totp_secret,
        "otpauth_uri": created.otpauth_uri,
        "role": Role(args.role).value,
    }
    print(json.dumps(answer, ensure_ascii=False))
    print("提示：密码与身份验证器密钥只显示这一次；首次登录须修改密码", file=sys.stderr)
    return 0


def _audit_verify(_args: argparse.Namespace) -> int:
    from publicpay.bootstrap import build

    settings = Settings(mode=Mode.DEMO) if not os.environ.get("PUBLICPAY_MODE") else Settings()
    container = build(settings)
    try:
        with container.read_uow() as uow:
            report = uow.audit.verify_report()
    finally:
        container.close()
    print(json.dumps(report.as_json(), ensure_ascii=False))
    if report.first_broken is not None:
        print(f"审计日志哈希链在第 {report.first_broken} 行断开", file=sys.stderr)
        return 1
    return 0


# In the demo every payer, wallet emulator and test client calls from the same address: the
# per-address allowance of lookups and orders is raised (unless set in the environment). The
# allowances that stop walking codes and guessing check codes keep their production values.
DEMO_ALLOWANCES = {
    "anonymous_rate_per_s": 100.0,
    "anonymous_burst": 2000.0,
    "anonymous_orders_per_hour": 2000.0,
}


def _demo_allowances() -> dict[str, float]:
    return {k: v for k, v in DEMO_ALLOWANCES.items() if f"PUBLICPAY_{k.upper()}" not in os.environ}


def _demo_live_from(data_dir: Path) -> date:
    """The demo's go-live: the business day of its first start (kept in its data folder). The
    history before it was written straight into the database — the emulated channels and bank
    never saw those payments — so the worker's T+1 reconciliation starts with this day."""
    from publicpay.domain.time import business_date

    kept = data_dir / "live-from.txt"
    if kept.exists():
        return date.fromisoformat(kept.read_text().strip())
    today = business_date(datetime.now(UTC))
    kept.write_text(today.isoformat())
    return today


def _demo(args: argparse.Namespace) -> int:
    import uvicorn

    from publicpay.demo.activity import seed_activity
    from publicpay.demo.history import seed_history
    from publicpay.demo.stack import build_stack
    from publicpay.jobs.worker import run_forever

    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("PUBLICPAY_DATABASE_URL") or f"sqlite:///{data_dir / 'publicpay.db'}"
    settings = Settings(
        mode=Mode.DEMO,
        database_url=url,
        public_base_url=f"http://{args.host}:{args.port}",
        recovery_after_s=30,
        reconcile_from=_demo_live_from(data_dir),  # the history's days are not reconciled
    ).model_copy(update=_demo_allowances())
    stack = build_stack(settings, visits_to_the_bank=True)  # slips and transfers reach the bank
    seed_history(stack.container)  # first start: the past 60 days, for the statistics' trends
    (data_dir / "demo.json").write_text(json.dumps(stack.info, ensure_ascii=False, indent=2))
    stop = threading.Event()
    worker = threading.Thread(target=run_forever, args=(stack.container, stop), daemon=True)
    worker.start()
    threading.Thread(target=seed_activity, args=(stack.info, stack.container), daemon=True).start()
    _demo_card_agent()  # the kiosk's simulated card reader and printer (issue 13)
    print(f"PublicPay demo: {settings.public_base_url}  (demo.json in {data_dir})", flush=True)
    try:
        # proxy headers: only from PUBLICPAY_TRUSTED_PROXIES (api.proxies), not uvicorn's own
        uvicorn.run(
            stack.app, host=args.host, port=args.port, log_level="warning", proxy_headers=False
        )
    finally:
        stop.set()
        stack.close()
    return 0


def _demo_card_agent(port: int = 17890) -> None:
    """DEMO: a simulated card reader (the first demo payer's card) for /kiosk, when the port is
    free (a separately started `publicpay kiosk-agent --simulate` keeps it otherwise)."""
    import socket

    import uvicorn

    from publicpay.demo.seed import demo_payers
    from publicpay.emulators.card_agent import SimulatedHardware, create_agent

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return
    card = dict(demo_payers()[0])
    app = create_agent(SimulatedHardware(card={"id_no": card["id_no"], "name": card["name"]}))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    threading.Thread(target=uvicorn.Server(config).run, daemon=True).start()


def _kiosk_agent(args: argparse.Namespace) -> int:
    """A simulated card reader and receipt printer on the kiosk's loopback address."""
    import uvicorn

    from publicpay.demo.seed import demo_payers
    from publicpay.emulators.card_agent import SimulatedHardware, create_agent

    if not args.simulate:
        print(
            "只提供模拟读卡器（--simulate）；实际读卡器代理由设备厂商按 docs/kiosk.md 实现",
            file=sys.stderr,
        )
        return 2
    first = demo_payers()[0]
    card = {"id_no": args.id_no or first["id_no"], "name": args.name or first["name"]}
    app = create_agent(SimulatedHardware(card=card), allow_origin=args.allow_origin)
    print(
        f"simulated kiosk agent: http://{args.host}:{args.port} (card of {card['name']})",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """granian (a Rust HTTP server; measured faster than uvicorn here, with a tighter p99)."""
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    Settings()  # fail fast on bad configuration
    Granian(
        "publicpay.api.production:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        loop=Loops.uvloop,
        log_level=LogLevels.warning,
        log_access=False,  # failed requests are logged by the app (with their request id)
    ).serve()
    return 0


def _worker(args: argparse.Namespace) -> int:
    from publicpay.api.production import container_from_env
    from publicpay.jobs.worker import run_forever, run_once

    container = container_from_env()
    if args.once:
        print(json.dumps(run_once(container)))
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # systemd/k8s stop: finish, then exit
    try:
        run_forever(container, stop)
    finally:
        stop.set()
        container.close()
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from publicpay.adapters.db import migrate

    settings = Settings()
    migrate.upgrade(settings.database_url)
    print("数据库已迁移到最新版本")
    return 0


def _check(_args: argparse.Namespace) -> int:
    from publicpay.adapters.db.engine import make_engines
    from publicpay.adapters.db.queries.invariants import run_checks

    settings = Settings(mode=Mode.DEMO) if not os.environ.get("PUBLICPAY_MODE") else Settings()
    engines = make_engines(settings.database_url)
    with engines.read.connect() as conn:
        report = run_checks(conn)
    engines.dispose()
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _business_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        print(f"日期格式应为 YYYY-MM-DD：{text}", file=sys.stderr)
        return None


def _reconcile(args: argparse.Namespace) -> int:
    from publicpay.adapters.reconciliation.engine import PolarsEngine
    from publicpay.api.production import container_from_env
    from publicpay.domain.errors import DomainError
    from publicpay.domain.reconciliation import CHANNEL_SOURCES, Source
    from publicpay.services.reconciliation.reconcile import (
        import_statement,
        reconcile_day,
        summary,
    )

    day = _business_day(args.date)
    if day is None:
        return 2
    if args.file and args.channel == "all":
        print("导入对账单时须用 --channel 指明渠道", file=sys.stderr)
        return 2
    container = container_from_env()
    engine, sources = PolarsEngine(), container.statement_sources()
    chosen = list(CHANNEL_SOURCES) if args.channel == "all" else [Source(args.channel)]
    channels = {}
    try:
        for source in chosen:
            if args.file:
                content = Path(args.file).read_bytes()
                record = import_statement(
                    container.uow,
                    engine,
                    sources,
                    source,
                    day,
                    content,
                    clock=container.clock,
                    actor="cli",
                )
            else:
                record = reconcile_day(
                    container.uow, engine, sources, source, day, clock=container.clock, actor="cli"
                )
            channels[source.value] = summary(record)
    except (DomainError, OSError) as exc:
        print(f"对账失败：{getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    finally:
        container.close()
    print(json.dumps({"date": day.isoformat(), "channels": channels}, ensure_ascii=False))
    return 0


def _clearing_run(args: argparse.Namespace) -> int:
    from publicpay.adapters.reconciliation.clearing_split import ColumnarSplitter
    from publicpay.api.production import container_from_env
    from publicpay.domain.errors import DomainError
    from publicpay.services.reconciliation.clearing import run_clearing

    day = _business_day(args.date)
    if day is None:
        return 2
    container = container_from_env()
    account = container.settings.collection_account_number or "collection"
    try:
        window = run_clearing(
            container.uow,
            container.treasury(),
            day,
            account,
            clock=container.clock,
            actor="cli",
            splitter=ColumnarSplitter(),
        )
    except DomainError as exc:
        print(f"清算失败：{exc.detail}", file=sys.stderr)
        return 2
    finally:
        container.close()
    base = container.settings.public_base_url.rstrip("/")
    out = {
        "window_id": window.id,
        "status": window.status.value,
        "total_fen": window.total_fen,
        "gross_fen": window.gross_fen,
        "refunds_fen": window.refunds_fen,
        "transfer_refunds_fen": window.transfer_refunds_fen,
        "held_fen": window.held_fen,
        "carried_fen": window.carried_fen,
        "fees_fen": window.fees_fen,
        "by_level": window.by_level,
        "voucher_no": window.voucher_no,
        "voucher_url": f"{base}/api/v1/clearing/windows/{window.id}/voucher.xml",
    }
    print(json.dumps({"date": day.isoformat(), "windows": [out]}, ensure_ascii=False))
    return 0


def _receipt_verify(args: argparse.Namespace) -> int:
    from publicpay.adapters.receipts.trusted_keys import load_trusted_keys
    from publicpay.adapters.receipts.xml import verify_receipt_document

    path = Path(args.file)
    if not path.is_file():
        print(f"文件不存在：{path}", file=sys.stderr)
        return 2
    try:
        trusted = load_trusted_keys(args.keys, args.keys_url)
    except (OSError, ValueError) as exc:
        print(f"无法读取可信公钥：{exc}", file=sys.stderr)
        return 2
    result = verify_receipt_document(path.read_bytes(), trusted)
    report = {
        "valid": result.valid,
        "unit_signature": result.unit_valid,
        "finance_signature": result.finance_valid,
        "keys_trusted": result.keys_trusted if trusted is not None else None,
        "code": result.code,
        "number": result.number,
        "check_code": result.check_code,
        "total_amount": result.total_amount,
        "problems": list(result.problems),
    }
    print(json.dumps(report, ensure_ascii=False))
    if trusted is None:
        print("提示：未指定 --keys/--keys-url，只核对了签名与文件内的公钥", file=sys.stderr)
    return 0 if result.valid else 1


if __name__ == "__main__":
    sys.exit(main())
