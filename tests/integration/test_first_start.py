"""First start in production (issue 10): `publicpay init` prepares an empty database (migrate,
the bureau's region with the regions above it, its signing key) and can run twice;
`publicpay admin create-user` prints the one-time password and the TOTP enrolment, refuses bad
input with exit 2 and a Chinese message; `publicpay audit verify` names the first broken row."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, update

from publicpay.adapters.db.audit import audit_log
from publicpay.adapters.db.receipts.tables import receipt_keys
from publicpay.adapters.db.units import regions
from publicpay.adapters.db.users import users
from publicpay.cli import main as cli
from publicpay.jobs.worker import run_once


@pytest.fixture
def production(new_database_url: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    url = new_database_url()
    monkeypatch.setenv("PUBLICPAY_MODE", "production")
    monkeypatch.setenv("PUBLICPAY_DATABASE_URL", url)
    monkeypatch.setenv("PUBLICPAY_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("PUBLICPAY_REGION_CODE", "330105")
    return url


def _count(url: str, stmt: Any) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = int(conn.execute(stmt).scalar_one())
    engine.dispose()
    return found


def test_init_prepares_an_empty_database_and_changes_nothing_the_second_time(
    production: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["init", "--region-name", "拱墅区"]) == 0
    first = capsys.readouterr().out
    assert cli(["init", "--region-name", "拱墅区"]) == 0
    second = capsys.readouterr().out
    assert "publicpay admin create-user" in first
    assert "已生成" in first
    assert "已存在，未改动" in second
    assert _count(production, select(func.count()).select_from(regions)) == 3  # 浙江 > 杭州 > 拱墅
    keys = select(func.count()).select_from(receipt_keys).where(receipt_keys.c.signer == "finance")
    assert _count(production, keys) == 1


def test_create_user_prints_a_one_time_password_and_the_totp_enrolment(
    production: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["init"]) == 0
    capsys.readouterr()
    args = ["admin", "create-user", "--username", "fin_admin", "--role", "finance_admin"]
    assert cli([*args, "--region", "330105"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"username", "password", "totp_secret", "otpauth_uri", "role"}
    assert printed["role"] == "finance_admin"
    assert printed["otpauth_uri"].startswith("otpauth://totp/")
    assert printed["totp_secret"] in printed["otpauth_uri"]
    changing = select(users.c.must_change_password).where(users.c.username == "fin_admin")
    assert _count(production, changing) == 1  # the password is changed at the first login


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--username", "Bad Name", "--role", "auditor", "--region", "330105"], "用户名"),
        (["--username", "boss", "--role", "king", "--region", "330105"], "未知角色"),
        (["--username", "fin_x", "--role", "finance_admin"], "区划"),
        (["--username", "cash_x", "--role", "cashier", "--region", "330105"], "--unit"),
        (["--username", "cash_y", "--role", "cashier", "--unit", "NOPE"], "不存在"),
    ],
)
def test_create_user_refuses_bad_input_with_exit_2_and_a_chinese_message(
    production: str, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert cli(["init"]) == 0
    capsys.readouterr()
    assert cli(["admin", "create-user", *extra]) == 2
    assert message in capsys.readouterr().err
    assert _count(production, select(func.count()).select_from(users)) == 0


def test_create_user_refuses_a_taken_username(
    production: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["init"]) == 0
    args = ["admin", "create-user", "--username", "aud", "--role", "auditor", "--region", "330105"]
    assert cli(args) == 0
    capsys.readouterr()
    assert cli(args) == 2
    assert "已存在" in capsys.readouterr().err


def test_audit_verify_passes_an_intact_chain_and_names_the_first_broken_row(
    production: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["init"]) == 0
    for name in ("aud1", "aud2", "aud3"):
        cli(["admin", "create-user", "--username", name, "--role", "auditor", "--region", "330105"])
    from publicpay.api.production import container_from_env

    container = container_from_env()
    run_once(container)  # the worker seals the chain
    container.close()
    capsys.readouterr()
    assert cli(["audit", "verify"]) == 0
    intact = json.loads(capsys.readouterr().out)
    assert intact["intact"] is True
    assert intact["sealed"] >= 4
    engine = create_engine(production)
    with engine.begin() as conn:
        victim = conn.execute(
            select(audit_log.c.id).where(audit_log.c.target == "aud2")
        ).scalar_one()
        conn.execute(update(audit_log).where(audit_log.c.id == victim).values(actor="someone"))
    engine.dispose()
    assert cli(["audit", "verify"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["first_broken_id"] == victim
    assert str(victim) in captured.err
