"""run_check end to end: exit codes, failures with curl + seed, credentials kept out of argv and reports,
baseline, bounded time. Small budgets (examples + fuzzing only where the phase does not matter)."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import Credentials
from tests.contract.driver import reference_app, serve

QUICK: dict[str, Any] = {"max_examples": 5, "max_time": 8, "phases": ("examples", "fuzzing"), "seed": 3}


class StaleEventIds:
    """A broken server: every accepted call answers event id 1 (event_id_strictly_increasing)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            (start.update(message) if message["type"] == "http.response.start" else parts.append(message.get("body", b"")))

        await self.inner(scope, receive, capture)
        raw = b"".join(parts)
        if start["status"] == 200:
            body = json.loads(raw)
            body["event"]["id"] = 1
            raw = json.dumps(body).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({"type": "http.response.start", "status": start["status"],
                    "headers": headers + [(b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})


@contextlib.contextmanager
def broken_server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp, serve(StaleEventIds(reference_app(Path(tmp)))) as url:
        yield url


@pytest.fixture
def broken_url() -> Iterator[str]:
    with broken_server() as url:
        yield url


def _console() -> Console:
    return Console(record=True, width=200, force_terminal=False)


@pytest.mark.slow  # CI: the same run through the CLI is tests/harness/conftest.py's failing_check
def test_check_exit_1_with_rule_curl_and_seed_on_broken_server(broken_url: str, tmp_path: Path) -> None:
    console = _console()
    result = run_check(CheckConfig(base_url=broken_url, fresh_server=True, report_dir=tmp_path, **QUICK),
                       console=console)
    assert result.exit_code == 1
    assert result.report is not None
    failure = next(f for f in result.report.failures if f.check == "event_id_strictly_increasing")
    assert "[event_id_strictly_increasing]" in failure.message and "received:" in failure.message
    assert failure.curl.startswith("curl ") and broken_url in failure.curl
    text = console.export_text()
    assert "event_id_strictly_increasing" in text and "seed: 3" in text and "FAILED" in text
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "report.json").exists()
    assert (tmp_path / "html").is_dir()


@pytest.mark.slow  # CI: test_credentials_authenticate_... asserts the same on its (signed) run
def test_check_exit_0_and_cases_per_phase_on_reference_server(tmp_path: Path) -> None:
    console = _console()
    with ServerProcess(db=tmp_path / "ref.db", quiet=True) as server:
        result = run_check(CheckConfig(base_url=server.base_url, fresh_server=True, report_dir=tmp_path / "r",
                                       **QUICK), console=console)
    assert result.exit_code == 0, result.report.failures if result.report else result.message
    assert result.report is not None and sum(result.report.cases_per_phase["fuzzing"].values()) > 0
    assert "Generated cases per phase" in console.export_text()


def test_check_exit_2_when_target_unreachable(tmp_path: Path) -> None:
    result = run_check(CheckConfig(base_url="http://127.0.0.1:9", report_dir=tmp_path, **QUICK), console=_console())
    assert result.exit_code == 2 and "not reachable" in result.message


def test_check_exit_2_on_unknown_check_name(tmp_path: Path) -> None:
    result = run_check(CheckConfig(base_url="http://127.0.0.1:9", checks=("no_such_rule",), report_dir=tmp_path),
                       console=_console())
    assert result.exit_code == 2 and "no_such_rule" in result.message


#: CI runs HMAC; the API key end to end is tests/robustness/test_secrets.py and tests/harness/test_run.py
@pytest.mark.parametrize("scheme", [pytest.param("api_key", marks=pytest.mark.slow), "hmac"])
def test_credentials_authenticate_and_never_reach_argv_or_reports(tmp_path: Path, scheme: str) -> None:
    secret = "sekret-api-key-4242" if scheme == "api_key" else "0123456789abcdef"
    creds = Credentials(api_key=secret) if scheme == "api_key" else Credentials(hmac_application_id=7,
                                                                                  hmac_key=secret)
    server_kwargs = {"api_key": secret} if scheme == "api_key" else {"hmac_key": secret, "application_id": 7}
    console = _console()
    with ServerProcess(db=tmp_path / "ref.db", quiet=True, **server_kwargs) as server:
        result = run_check(CheckConfig(base_url=server.base_url, credentials=creds, fresh_server=True,
                                       report_dir=tmp_path / "r", **QUICK), console=console)
    assert result.exit_code == 0, result.report.failures if result.report else result.message
    assert result.report is not None and result.report.statuses.get(200, 0) > 0, result.report.statuses
    assert result.report.statuses.get(401, 0) == 0
    assert sum(result.report.cases_per_phase["fuzzing"].values()) > 0
    assert "Generated cases per phase" in console.export_text()
    command = json.loads((tmp_path / "r" / "report.json").read_text())["command"]
    assert secret not in command
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in console.export_text()


def test_baseline_accepts_known_failures(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"  # schemathesis' own baseline: its cases only, no witness phase
    with broken_server() as url:
        first = run_check(CheckConfig(base_url=url, fresh_server=True, baseline=baseline, baseline_update=True,
                                      report_dir=tmp_path / "a", witness=False, **QUICK), console=_console())
    assert first.exit_code == 1 and baseline.exists()
    with broken_server() as url:  # the same seed against an equally broken, empty server
        second = run_check(CheckConfig(base_url=url, fresh_server=True, baseline=baseline, witness=False,
                                       report_dir=tmp_path / "b", **QUICK), console=_console())
    assert second.exit_code == 0, second.report.failures if second.report else second.message


def test_witness_failure_fails_the_check_and_is_reported_with_curl(tmp_path: Path) -> None:
    console = _console()
    with ServerProcess(db=tmp_path / "ref.db", faults=["cancel_keeps_total_sales"], quiet=True) as server:
        result = run_check(CheckConfig(base_url=server.base_url, fresh_server=True, report_dir=tmp_path / "r",
                                       max_examples=5, max_time=8, phases=("examples",), seed=3), console=console)
    assert result.exit_code == 1
    assert result.witness is not None and result.witness.failed_checks == ("closed_sessions_bookkeeping",)
    assert result.report is not None and result.report.failures == ()  # schemathesis ran after it, found nothing
    text = console.export_text()
    assert "Witness phase" in text and "witness (fixed sequences)" in text
    assert "Witness failure 1: closed_sessions_bookkeeping (D6, witness close_then_cancel, step cancel_session" in text
    assert "curl -sS -X PUT" in text and "FAILED" in text and f"failures={result.failures}" in text
    saved = json.loads((tmp_path / "r" / "witness.json").read_text())
    assert [(f["check"], f["witness"]) for f in saved["failures"]] == [
        ("closed_sessions_bookkeeping", "close_then_cancel"), ("closed_sessions_bookkeeping", "illegal_transitions")]
    assert saved["failures"][0]["curl"].startswith("curl -sS -X PUT")
