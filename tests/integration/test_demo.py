"""The demo: the CLI contract (demo.json, /healthz), the landing page, consistent seeded data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from publicpay.adapters.db.queries.invariants import run_checks
from publicpay.demo.activity import CASES, DemoActivity
from publicpay.jobs.worker import run_once
from tests.support.polling import wait_until
from tests.support.servers import free_port


def test_landing_page_links_every_ui(base_url: str) -> None:
    page = httpx.get(f"{base_url}/").text
    for link in ('href="/pay"', 'href="/verify"', 'href="/console"', 'href="/docs"'):
        assert link in page


def test_demo_activity_leaves_a_consistent_ledger(stack: Any) -> None:
    activity = DemoActivity(stack.info)
    assert activity.run() == len(CASES)
    expected_paid = sum(1 for case in CASES if case.pay_with)

    def all_paid() -> bool:
        run_once(stack.container)
        with stack.container.engines.read.connect() as conn:
            paid = conn.exec_driver_sql(
                "SELECT count(*) FROM payables WHERE biz_no LIKE 'DEMO-%%' AND status = 'paid'"
            ).scalar_one()
        return bool(paid == expected_paid)

    wait_until(all_paid, timeout_s=10, interval_s=0.05, message="the demo payments were not paid")
    with stack.container.engines.read.connect() as conn:
        report = run_checks(conn)
    assert report.ok, report.violations


@pytest.mark.skipif(
    os.environ.get("PUBLICPAY_TEST_DB") == "postgresql", reason="demo default is SQLite"
)
def test_demo_command_serves_and_writes_demo_json(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLICPAY_")}
    log = tmp_path / "demo.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "publicpay.cli",
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:

        def healthy() -> bool:
            assert proc.poll() is None, (
                "the demo exited:\n" + log.read_text(errors="replace")[-4000:]
            )
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        # A generous deadline: the demo seeds and pays its payables before serving, and CI machines
        # are shared; a crash fails at once through the exit check above.
        wait_until(healthy, timeout_s=240, interval_s=0.2, message="demo did not serve /healthz")
        info = json.loads((tmp_path / "demo.json").read_text())
        assert info["base_url"] == f"http://127.0.0.1:{port}"
        assert info["database_url"].startswith("sqlite:///")
        assert {"code", "name", "app_id", "app_secret", "items"} <= info["units"][0].keys()
        assert {"device_id", "device_secret"} <= info["kiosk"].keys()
        assert {"name", "id_no"} <= info["payers"][0].keys()
        assert isinstance(info["users"], list)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
