"""End-to-end load runs on loopback: a real Locust subprocess, real HTTP, short and bounded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from talon_harness.loadtests import EndpointResult, LoadConfig, LoadResult, SloSet, run_load
from talon_harness.loadtests.report import read_outcome
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import Credentials

pytestmark = pytest.mark.timeout(90)

# journeys whose calls all expect 200: a wrapper that only slows the server keeps them failure-free
ALL_OK = {"returning_customer": 3, "anonymous_shopper": 2, "profile_only": 2, "cancelled_order": 1}
# the shared 2-core CI box can stall for hundreds of ms: runs meant to pass get roomy latency limits
ROOMY = SloSet.default().with_overall(p95_ms=5000.0, p99_ms=10000.0)
EVERY_FILE = {
    "summary.json",
    "latency.png",
    "hdr.json",
    "locust.html",
    "locust.json",
    "locust_stats.csv",
    "locust_stats_history.csv",
    "locust_failures.csv",
    "locust.log",
}


def _overall(result: LoadResult) -> EndpointResult:
    assert result.outcome is not None and result.outcome.overall is not None, result.breaches
    return result.outcome.overall


def _cfg(base_url: str, tmp_path: Path, **kw: Any) -> LoadConfig:
    args: dict[str, Any] = {
        "base_url": base_url,
        "users": 4,
        "duration_s": 5,
        "report_dir": tmp_path / "report",
        "think_scale": 0.02,
        "validate_share": 1.0,
    }
    args.update(kw)
    return LoadConfig(**args)


def test_reference_server_run_passes_with_every_report(tmp_path: Path) -> None:
    """Two forked workers against a keyed server: each read the key from the document it inherited (D41)."""
    key = "k3y-" + "s3cr3t" * 4
    creds = Credentials(api_key=key)
    with ServerProcess(api_key=key, quiet=True) as server:
        result = run_load(_cfg(server.base_url, tmp_path, credentials=creds, workers=2, slo=ROOMY))
    assert result.passed, result.breaches
    shares = json.loads((tmp_path / "report" / "summary.json").read_text())["workers"]
    assert len(shares) == 2 and all(s["requests"] > 0 and s["failures"] == 0 for s in shares.values()), shares
    assert result.exit_code == 0
    assert EVERY_FILE <= {p.name for p in result.report_files}
    outcome = result.outcome
    assert outcome is not None and outcome.overall is not None
    assert outcome.overall.requests > 50 and outcome.overall.failures == 0
    assert [e.name for e in outcome.endpoints] == [
        "PUT /v1/customer_profiles/[id]",
        "PUT /v1/customer_sessions/[id]",
        "overall",
    ]
    assert {v.slo.name for v in outcome.verdicts} >= {
        "overall.p95_ms",
        "overall.p99_ms",
        "overall.error_ratio",
    }
    assert all(v.passed for v in outcome.verdicts)
    assert outcome.overall.raw is not None and outcome.overall.raw["p99"] > 0
    assert outcome == read_outcome(tmp_path / "report")  # the typed object is what the file holds
    for path in result.report_files:  # the key reached the server (no 401s) but no file shows it
        assert key not in path.read_bytes().decode("utf-8", "replace"), path.name


def test_slow_server_breaches_p99(tmp_path: Path, faulty: Any) -> None:
    slo = SloSet.default().with_overall(p99_ms=20.0)
    with faulty(delay_ms=40) as url:
        result = run_load(_cfg(url, tmp_path, slo=slo, journey_weights=ALL_OK))
    assert not result.passed
    assert result.exit_code == 1
    assert any(b.startswith("BREACH overall.p99_ms") for b in result.breaches), result.breaches
    overall = _overall(result)
    assert overall.raw is not None and overall.raw["p99"] >= 40.0
    assert overall.failures == 0


def test_one_percent_server_errors_are_caught(tmp_path: Path, faulty: Any) -> None:
    with faulty(error_every=100) as url:
        result = run_load(_cfg(url, tmp_path, users=6, journey_weights=ALL_OK))
    assert not result.passed and result.exit_code == 1
    assert any(b.startswith("BREACH overall.error_ratio") for b in result.breaches), result.breaches
    overall = _overall(result)
    assert overall.failures >= 1
    assert 0.003 < overall.error_ratio < 0.03
    assert result.outcome is not None
    assert any("server error 500" in f.error for f in result.outcome.failures)


def test_open_mode_stall_shows_in_corrected_latency_only(tmp_path: Path, faulty: Any) -> None:
    with faulty(stall_at_s=2.5, stall_s=2.0) as url:
        result = run_load(
            _cfg(
                url,
                tmp_path,
                users=None,
                rate=60.0,
                arrival="constant",
                duration_s=7,
                think_scale=0.0,
                connections=2,
                validate_share=0.05,
                journey_weights={"profile_only": 1},
            )
        )
    overall = _overall(result)
    raw, corrected = overall.raw, overall.corrected
    assert raw is not None and corrected is not None
    assert corrected["p99"] >= 500.0, corrected
    assert raw["p99"] <= corrected["p99"] / 4, (raw, corrected)
    assert raw["max"] >= 1000.0  # the few requests on the wire during the stall did wait
    assert result.outcome is not None
    arrivals = result.outcome.arrivals
    assert arrivals.late >= 60  # about 2 s x 60 arrivals/s started late
    assert arrivals.intended >= 200
    assert result.outcome.mode == "open"


def test_named_shape_drives_the_user_count(tmp_path: Path) -> None:
    with ServerProcess(quiet=True) as server:
        result = run_load(
            _cfg(
                server.base_url, tmp_path, users=4, shape="step", duration_s=6, validate_share=0.05, slo=ROOMY
            )
        )
    assert result.passed, result.breaches
    history = (tmp_path / "report" / "locust_stats_history.csv").read_text().splitlines()
    header = history[0].split(",")
    users = [int(line.split(",")[header.index("User Count")]) for line in history[1:]]
    assert max(users) == 4 and min(u for u in users if u) <= 2, users


def test_interrupt_stops_cleanly_and_still_writes_a_partial_report(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    with ServerProcess(quiet=True) as server:
        script = (
            "import sys; from pathlib import Path; from talon_harness.loadtests import LoadConfig, run_load\n"
            f"r = run_load(LoadConfig(base_url={server.base_url!r}, users=2, duration_s=60, think_scale=0.05,"
            f" report_dir=Path({str(tmp_path / 'report')!r})))\n"
            "print('interrupted', r.interrupted, 'passed', r.passed, 'summary', r.summary_path is not None)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        log = tmp_path / "report" / "locust.log"
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not (log.exists() and "All users spawned" in log.read_text()):
            time.sleep(0.2)
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=40)
    assert "interrupted True passed False summary True" in out
    summary = (tmp_path / "report" / "summary.json").read_text()
    assert '"requests"' in summary and (tmp_path / "report" / "locust.html").exists()


def test_max_rate_caps_requests_across_two_workers(tmp_path: Path) -> None:
    with ServerProcess(quiet=True) as server:
        result = run_load(
            _cfg(
                server.base_url,
                tmp_path,
                users=8,
                workers=2,
                think_scale=0.0,
                max_rate=40.0,
                duration_s=6,
                validate_share=0.05,
                slo=ROOMY,
            )
        )
    assert result.passed, result.breaches
    assert result.outcome is not None
    rate = result.outcome.achieved_requests_per_s
    assert 20.0 < rate <= 40.0 * 1.15, rate
    assert result.outcome.max_requests_per_s == 40.0
