"""Issue 13 items 1-3 and 7: output in a CI log (piped stdout), GitHub step summaries and ``::error``
annotations, report directories sized for CI artifacts, and a one-line refusal of a wrong target."""

from __future__ import annotations

import itertools
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from talon_harness.contracts.apis import domain_checks
from talon_harness.harness.check import EVENTS_FILE, CheckConfig, run_check
from talon_harness.harness.console import CI_WIDTH, make_console
from talon_harness.harness.summary import annotation
from talon_harness.refserver import ServerProcess
from tests.harness.conftest import CliRun, run_cli

FIVE_MB = 5 * 1024 * 1024


def test_piped_check_prints_every_table_whole(passing_check: CliRun) -> None:
    assert passing_check.rc == 0, passing_check.output[-3000:]
    assert "…" not in passing_check.output
    ran = re.findall(r"^\| `(\w+)` \|", passing_check.step_summary, re.MULTILINE)
    v1_rules = set(domain_checks("v1"))  # the default --api is the seed's v1
    assert v1_rules <= set(ran) and len(set(ran) - v1_rules) >= 10, ran
    for name in ran:
        assert re.search(rf"│ {name} +│", passing_check.output), name
    assert re.search(r"^PASSED  target=http://127\.0\.0\.1:\d+  cases=\d+  requests=\d+  failures=0  seed=1  "
                     r"[\d.]+s$", passing_check.output, re.MULTILINE), passing_check.output[-1500:]
    assert "\x1b[" not in passing_check.output  # no colour codes in a log without FORCE_COLOR


def test_piped_check_progress_is_a_plain_line_every_few_seconds(passing_check: CliRun) -> None:
    lines = re.findall(r"^check +([\d.]+)s / ~8s  phase=\w+  cases=\d+  failed=\d+  seed=1$", passing_check.output,
                       re.MULTILINE)
    assert len(lines) >= 2, passing_check.output[:1500]
    times = [float(t) for t in lines]
    assert all(later - earlier >= 4.9 for earlier, later in itertools.pairwise(times)), times


def test_console_follows_columns_no_color_and_force_color(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COLUMNS", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    assert make_console().width == CI_WIDTH and not make_console().is_terminal  # pytest captures stdout
    monkeypatch.setenv("COLUMNS", "123")
    assert make_console().width == 123
    monkeypatch.setenv("NO_COLOR", "1")
    assert make_console().no_color
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert make_console().is_terminal


def test_step_summary_of_a_passing_check(passing_check: CliRun) -> None:
    summary = passing_check.step_summary
    assert summary.startswith("### talon-harness check: ✅ PASSED\n"), summary[:300]
    assert "| check | kind | passed | failed | not applicable |" in summary
    for name, kind in [*((rule, "domain") for rule in domain_checks("v1")), ("not_a_server_error", "built-in")]:
        assert re.search(rf"^\| `{name}` \| {kind} \| \d+ \| 0 \| \d+ \|$", summary, re.MULTILINE), name
    assert f"`{passing_check.report_dir / 'report.html'}`" in summary
    assert "::error" not in passing_check.output


def test_step_summary_and_one_error_annotation_per_failure(failing_check: CliRun) -> None:
    assert failing_check.rc == 1, failing_check.output[-3000:]
    failures = re.findall(r"Failure \d+: (\w+)", failing_check.output)
    errors = re.findall(r"^::error title=talon-harness check%3A (\w+)::PUT .+ \(seed 1\)$", failing_check.output,
                        re.MULTILINE)
    assert "event_id_strictly_increasing" in failures
    assert errors == failures
    witnessed = re.findall(r"Witness failure \d+: (\w+)", failing_check.output)
    witness_errors = re.findall(r"^::error title=talon-harness check%3A (\w+)::witness \w+, PUT http\S+: \S",
                                failing_check.output, re.MULTILINE)
    assert "event_id_strictly_increasing" in witnessed and witness_errors == witnessed
    assert re.search(r"^Witness phase: \d+ requests, [1-9]\d* failed \([\d.]+ s\)$", failing_check.step_summary,
                     re.MULTILINE)
    assert "<summary>❌ event_id_strictly_increasing (witness " in failing_check.step_summary
    assert "received:" in failing_check.output and "curl -sS -X PUT" in failing_check.output
    assert "FAILED" in failing_check.output and "seed=1" in failing_check.output
    assert (failing_check.report_dir / "junit.xml").exists() and (failing_check.report_dir / "report.json").exists()
    assert (failing_check.report_dir / "html").is_dir()
    assert failing_check.step_summary.startswith("### talon-harness check: ❌ FAILED\n")
    assert "<summary>❌ event_id_strictly_increasing (" in failing_check.step_summary
    assert re.search(r"^\| `event_id_strictly_increasing` \| domain \| \d+ \| \*\*\d+\*\* \| \d+ \|$",
                     failing_check.step_summary, re.MULTILINE)


def test_step_summary_of_a_load_names_the_breached_slo(failing_load: CliRun) -> None:
    assert failing_load.rc == 1, failing_load.output[-3000:]
    summary = failing_load.step_summary
    assert summary.startswith("### talon-harness load: ❌ FAILED\n"), summary[:300]
    assert "| endpoint | latency (ms) | requests | failures | p50 | p95 | p99 | p99.9 | max |" in summary
    assert re.search(r"^\| `overall` \| service \| \d+ \| 0 \|", summary, re.MULTILINE)
    assert re.search(r"^\| `overall.p95_ms` \| [\d.]+ \| 0.001 \| \*\*FAIL\*\* \|$", summary, re.MULTILINE)
    assert re.search(r"^\| `overall.p99_ms` \| [\d.]+ \| 500 \| pass \|$", summary, re.MULTILINE)
    assert re.findall(r"^::error title=talon-harness load%3A SLO breached::BREACH overall\.p95_ms: observed .*$",
                      failing_load.output, re.MULTILINE)
    assert len(re.findall(r"^::error", failing_load.output, re.MULTILINE)) == 1


def test_annotation_escapes_newlines_and_separators() -> None:
    assert annotation("a: b, c", "50%\nsecond") == "::error title=a%3A b%2C c::50%25%0Asecond"


def test_default_check_report_dir_fits_a_ci_artifact(passing_check: CliRun) -> None:
    files = [p for p in passing_check.report_dir.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    assert size < FIVE_MB, {p.name: p.stat().st_size for p in files}
    assert not (passing_check.report_dir / EVENTS_FILE).exists()
    assert {"report.html", "junit.xml", "report.json", "schemathesis.log"} <= {p.name for p in files}


@pytest.mark.slow  # CI: test_regressions' and the chaos tests' --keep-events runs read events.ndjson
def test_keep_events_keeps_the_full_event_stream(tmp_path: Path) -> None:
    with ServerProcess(db=tmp_path / "ref.db", quiet=True) as server:
        result = run_check(CheckConfig(base_url=server.base_url, fresh_server=True, report_dir=tmp_path / "r",
                                       max_examples=3, max_time=4, phases=("examples", "fuzzing"), seed=3,
                                       keep_events=True, quiet=True))
    assert result.exit_code == 0, result.message
    events = (tmp_path / "r" / EVENTS_FILE).read_text(encoding="utf-8")
    assert events.count('{"ScenarioFinished"') >= 1


@pytest.fixture
def static_file_server() -> Iterator[str]:
    """``python -m http.server`` on a free loopback port: answers PUT with 501 and HTML."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_check_refuses_a_server_that_is_not_talon_one_in_one_line(static_file_server: str, tmp_path: Path) -> None:
    run = run_cli(["check", "--base-url", static_file_server, "--max-time", "60"], tmp_path)
    assert run.rc == 2, run.output
    expected = (f"target {static_file_server} is not a Talon.One Integration API v1 server: it does not implement "
                "PUT (501) (profiles 501 text/html, sessions 501 text/html)")
    assert f"Error: {expected}" in run.output.splitlines(), run.output
    assert "Traceback" not in run.output and run.seconds < 15
    assert f"::error title=talon-harness check could not run::{expected}" in run.output.splitlines()


def test_load_refuses_a_server_that_is_not_talon_one_in_one_line(static_file_server: str, tmp_path: Path) -> None:
    run = run_cli(["load", "--base-url", static_file_server, "--duration", "30"], tmp_path)
    assert run.rc == 2, run.output
    expected = (f"Error: target {static_file_server} is not a Talon.One Integration API v1 server: it does not "
                "implement PUT (501) (profiles 501 text/html, sessions 501 text/html)")
    assert run.output.splitlines() == [expected], run.output
    assert run.seconds < 15
