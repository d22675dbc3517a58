"""Locust's own distribution across hosts: one `load --master` and two `load --worker` processes, each
started on its own as it would be on another machine (no --processes fork), against the reference
server on loopback, in the open model with constant arrivals (so the split is exact to an arrival).
D41: every process has its own credentials, in its own settings document; none is in a Locust argv, and the
master forwards its settings to the workers without them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from talon_harness.loadtests.baseline import read_histograms
from talon_harness.refserver import ServerProcess
from tests.ports import free_port

pytestmark = pytest.mark.timeout(180)

RATE, DURATION_S, API_KEY = 10.0, 8, "k-distributed"
CLI = [sys.executable, "-m", "talon_harness.harness"]


def _locust_processes(parents: list[subprocess.Popen[str]], count: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The argv and environment of the Locust processes the ``parents`` (``talon-harness load``) started, read
    from /proc while they run (``--master`` or ``--worker`` in their argv); waits until ``count`` are seen."""
    seen: dict[str, tuple[list[str], dict[str, str]]] = {}
    deadline = time.monotonic() + 60
    while len(seen) < count and time.monotonic() < deadline:
        for parent in parents:
            try:
                children = psutil.Process(parent.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            for child in children:
                try:
                    argv, environ = child.cmdline(), child.environ()
                except psutil.Error:
                    continue
                role = next((a for a in argv if a in ("--master", "--worker")), None)
                if "locust" in argv and role is not None:
                    seen[f"{role.lstrip('-')}:{child.pid}"] = (argv, environ)
        time.sleep(0.2)
    return seen


def test_master_merges_two_workers_histograms_and_splits_the_rate(tmp_path: Path) -> None:
    slo = tmp_path / "slo.toml"  # the shared 2-core box stalls: latency limits are not what this test is about
    slo.write_text("[overall]\np95_ms = 10000\np99_ms = 20000\np999_ms = 30000\nmax_ms = 60000\n")
    port = str(free_port())
    env = {**os.environ, "TALON_API_KEY": API_KEY}  # each process has its own credentials; none cross the wire
    master_dir, worker_dirs = tmp_path / "master", [tmp_path / "w1", tmp_path / "w2"]
    with ServerProcess(api_key=API_KEY, quiet=True) as server:
        master = subprocess.Popen(
            [*CLI, "load", "--master", "--expect-workers", "2", "--master-port", port, "--base-url", server.base_url,
             "--rate", str(RATE), "--arrival", "constant", "--duration", str(DURATION_S), "--slo", str(slo),
             "--report-dir", str(master_dir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        workers = [
            subprocess.Popen(
                [*CLI, "load", "--worker", "--master-port", port, "--duration", str(DURATION_S),
                 "--report-dir", str(d)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            for d in worker_dirs
        ]
        locusts = _locust_processes([master, *workers], 3)
        out, _ = master.communicate(timeout=150)
        worker_out = [w.communicate(timeout=30)[0] for w in workers]
    assert master.returncode == 0, out
    assert sorted(name.split(":")[0] for name in locusts) == ["master", "worker", "worker"]
    for argv, environ in locusts.values():  # the key is in no Locust argv, only in each one's own document
        assert not any(API_KEY in a for a in argv) and "--talon-config" not in argv, argv
        assert json.loads(environ["TALON_HARNESS_LOAD"])["credentials"] == {
            "api_key": API_KEY, "hmac_application_id": None, "hmac_key": None}
    assert [w.returncode for w in workers] == [0, 0], worker_out

    summary = json.loads((master_dir / "summary.json").read_text())
    shares = summary["workers"]
    assert len(shares) == 2, shares
    # merged HDR counts == the sum of what each worker reported == Locust's own merged count
    merged = read_histograms(master_dir)
    hdr_total = sum(h.get_total_count() for h in merged.raw.values())
    locust_total = sum(e["num_requests"] for e in json.loads((master_dir / "locust.json").read_text()))
    per_worker = [s["requests"] for s in shares.values()]
    assert min(per_worker) > 0
    assert hdr_total == sum(per_worker) == summary["endpoints"]["overall"]["requests"] == locust_total
    assert sum(s["failures"] for s in shares.values()) == 0 == summary["endpoints"]["overall"]["failures"]
    # the rate is split: each worker scheduled RATE / 2 arrivals per second (constant arrivals), not RATE
    half = RATE / 2 * DURATION_S
    for s in shares.values():
        assert 0.8 * half <= s["intended_arrivals"] <= half + 1, shares
    assert summary["arrivals"]["intended"] == sum(s["intended_arrivals"] for s in shares.values())
    # the reports are the master's: the workers wrote only their Locust log
    assert {"summary.json", "hdr.json", "locust.json", "locust.html"} <= {p.name for p in master_dir.iterdir()}
    for d in worker_dirs:
        assert [p.name.startswith("locust-worker-") and p.suffix == ".log" for p in d.iterdir()] == [True]
    assert "2 workers connected" in (master_dir / "locust.log").read_text()


def test_a_worker_without_a_key_of_its_own_gets_none_from_the_master(tmp_path: Path) -> None:
    """The master has the key (its probe passes); the worker's own document has none. The master forwards its
    settings without credentials, so every request of the worker is refused: a breach (exit 1), not a pass."""
    port = str(free_port())
    keyless = {k: v for k, v in os.environ.items() if k not in ("TALON_API_KEY", "TALON_HMAC", "TALON_HARNESS_LOAD")}
    with ServerProcess(api_key=API_KEY, quiet=True) as server:
        master = subprocess.Popen(
            [*CLI, "load", "--master", "--expect-workers", "1", "--master-port", port, "--base-url", server.base_url,
             "--rate", "5", "--arrival", "constant", "--duration", "4", "--report-dir", str(tmp_path / "master")],
            env={**keyless, "TALON_API_KEY": API_KEY}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        worker = subprocess.Popen(
            [*CLI, "load", "--worker", "--master-port", port, "--duration", "4", "--report-dir", str(tmp_path / "w")],
            env=keyless, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        out, _ = master.communicate(timeout=150)
        worker_out, _ = worker.communicate(timeout=30)
    assert (master.returncode, worker.returncode) == (1, 0), out + worker_out
    overall = json.loads((tmp_path / "master" / "summary.json").read_text())["endpoints"]["overall"]
    assert overall["requests"] > 0 and overall["failures"] == overall["requests"], overall
    assert "unexpected status 401" in (tmp_path / "master" / "locust_failures.csv").read_text()


@pytest.mark.slow  # it waits out its bound: --duration + the 60 s a master waits for workers + 45 s grace
def test_a_worker_without_a_master_stops_by_itself_with_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "load", "--worker", "--master-port", str(free_port()), "--duration", "1", "--report-dir",
         str(tmp_path)],
        capture_output=True, text=True, timeout=170, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Error: worker:" in result.stderr
