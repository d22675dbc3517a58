"""ServerProcess / `python -m refserver` / RuleSet.from_file / lifespan: the ways the server is started."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from talon_harness.refserver import RuleSet, ServerConfig, ServerProcess, Store, create_app
from talon_harness.refserver.process import ServerStartError

from .conftest import session_url

RULES = {
    "coupons": {"TEN": {"campaignId": 9, "rulesetId": 8, "label": "Ten off", "amount": 10}},
    "referrals": {},
}


def test_rules_file_is_used(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    assert RuleSet.from_file(rules).coupons["TEN"].amount == 10.0
    with ServerProcess(db=tmp_path / "r.db", rules_file=rules, quiet=True) as proc:
        state = httpx.put(proc.base_url + session_url("s"), json={"coupon": "TEN"}).json()
        assert state["event"]["effects"][1] == [9, 8, 0, ["setDiscount", "Ten off", 10.0]]
        assert httpx.put(proc.base_url + session_url("s"), json={"coupon": "SUMMER10"}).json()["event"][
            "effects"
        ] == [[0, 0, 0, ["rejectCoupon", "SUMMER10"]]]


def test_default_rule_set_codes() -> None:
    rules = RuleSet.default()
    assert sorted(rules.coupons) == ["SUMMER10", "VIP25", "WELCOME5"]
    assert sorted(rules.referrals) == ["FRIEND-ALICE", "FRIEND-BOB"]
    assert (
        rules.coupons["WELCOME5"].label == "Welcome discount" and rules.referrals["FRIEND-BOB"].amount == 7.5
    )
    assert ServerConfig().rules == rules


def test_bad_rules_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"coupons": {"X": {"label": "no ids"}}}')
    with pytest.raises(ValueError, match="campaignId"):
        RuleSet.from_file(bad)
    with pytest.raises(ServerStartError, match="campaignId"):
        ServerProcess(db=tmp_path / "x.db", rules_file=bad, startup_timeout=10).start()


def test_server_that_cannot_start_reports_log_tail(tmp_path: Path) -> None:
    proc = ServerProcess(db=tmp_path / "x.db", hmac_key="not-hex", startup_timeout=10)
    with pytest.raises(ServerStartError) as info:
        proc.start()
    assert "16 hex digits" in info.value.log_tail
    assert not proc.running


def test_cli_writes_port_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "talon_harness.refserver",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--db",
            str(tmp_path / "c.db"),
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        port = int(port_file.read_text())
        assert httpx.put(f"http://127.0.0.1:{port}{session_url('s')}", json={}).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert b"PUT /v1/customer_sessions/s 200" in output


def test_app_completes_lifespan(tmp_path: Path) -> None:
    app = create_app(Store(tmp_path / "l.db"), ServerConfig())
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return inbox.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_store_creates_schema_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    assert store.counts() == {"profiles": 0, "sessions": 0, "events": 0}
    store.close()
    import sqlite3

    with sqlite3.connect(tmp_path / "w.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_server_config_is_frozen_and_carries_faults() -> None:
    config = ServerConfig(faults=frozenset({"skip_session_state_machine"}))
    assert config.faults == frozenset({"skip_session_state_machine"})
    assert (config.application_id, config.account_id, config.max_body_bytes) == (1, 1, 1048576)
    with pytest.raises(AttributeError):
        config.api_key = "x"  # type: ignore[misc]


def test_max_body_bytes_is_configurable(in_process) -> None:
    app = in_process(ServerConfig(max_body_bytes=10))
    assert app.put(session_url("a"), json={"total": 1}).status_code == 413
    assert (
        app.put(session_url("a"), content=b"{}", headers={"content-type": "application/json"}).status_code
        == 200
    )


def test_absurd_content_length_is_413_not_500(in_process) -> None:
    app = in_process()
    response = app.put(session_url("a"), content=b"{}", headers={"content-length": "9" * 5000})
    assert response.status_code == 413
