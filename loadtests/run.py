"""run_load: one bounded, headless Locust run in a subprocess, judged by our SLO gates.

The run is a ``python -m locust`` subprocess (``--processes N`` for N local workers plus a master),
started in its own session so a Ctrl-C reaches only us: we then send it SIGINT, Locust shuts down
cleanly (HTML report included) and our plugin still writes the (partial) report. The subprocess is killed if it outlives the
duration by more than a grace period. Credentials travel in an environment variable, never in argv;
Locust's console output goes to ``locust.log`` in the report directory.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.locustfile_path import LOCUSTFILE, SHAPEFILE
from talon_harness.loadtests.replay import REPLAY_LOCUSTFILE
from talon_harness.loadtests.replay import locust_args as replay_args
from talon_harness.loadtests.report import HDR_FILE, PLOT_FILE, SUMMARY_FILE

__all__ = ["CREDENTIALS_ENV", "LoadResult", "build_argv", "run_load"]

CREDENTIALS_ENV = "TALON_HARNESS_CREDENTIALS"
LOCUST_PREFIX = "locust"
LOCUST_FILES = (
    "locust.html",
    "locust.json",
    "locust_stats.csv",
    "locust_stats_history.csv",
    "locust_failures.csv",
    "locust_exceptions.csv",
)
_GRACE_S = 45.0


@dataclass(frozen=True)
class LoadResult:
    """Outcome of one run: SLO verdict, named breaches with numbers, files, generator trust."""

    passed: bool
    breaches: tuple[str, ...]
    summary_path: Path | None
    report_files: tuple[Path, ...]
    trustworthy: bool
    exit_code: int
    interrupted: bool = False
    summary: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_argv(config: LoadConfig, *, master_port: int | None = None) -> list[str]:
    """The locust command line for ``config`` (pure; holds no secret)."""
    rd = Path(config.report_dir).resolve()  # the child runs in the project root
    duration = max(1, math.ceil(config.duration_s))
    files = f"{LOCUSTFILE},{SHAPEFILE}" if config.shape else str(LOCUSTFILE)
    if config.replay is not None:
        files = str(REPLAY_LOCUSTFILE)
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        files,
        "--headless",
        "--host",
        config.base_url.rstrip("/"),
        "-t",
        f"{duration}s",
        "--only-summary",
        "--exit-code-on-error",
        "1",
        "--html",
        str(rd / "locust.html"),
        "--csv",
        str(rd / LOCUST_PREFIX),
        "--json-file",
        str(rd / LOCUST_PREFIX),
        "--talon-report-dir",
        str(rd),
        "--talon-slo",
        json.dumps(config.slo.to_mapping()),
        "--talon-seed",
        str(config.seed),
        "--talon-validate-share",
        repr(config.validate_share),
        "--talon-think-scale",
        repr(config.think_scale),
        "--talon-connections",
        str(config.connections),
        "--talon-late-ms",
        repr(config.late_ms),
        "--talon-window",
        repr(max(1.0, float(math.ceil(config.duration_s / 300)))),
    ]
    if config.journey_weights:
        argv += ["--talon-weights", json.dumps(config.journey_weights)]
    if config.max_rate:
        argv += ["--talon-max-rate", repr(config.max_rate)]
    if config.rate is not None:
        users = max(1, config.workers)
        argv += [
            "-u",
            str(users),
            "-r",
            str(users),
            "--talon-open-users",
            str(users),
            "--talon-rate",
            repr(config.rate),
            "--talon-arrival",
            config.arrival,
        ]
    else:
        assert config.users is not None
        spawn = config.spawn_rate or config.users / max(1.0, min(10.0, config.duration_s * 0.1))
        argv += ["-u", str(config.users), "-r", repr(float(spawn))]
        if config.shape:
            argv += ["--talon-shape", config.shape]
    if config.replay is not None:
        argv += replay_args(config.replay, speed=config.replay_speed, loop=config.replay_loop,
                            token=config.replay_token)
    if config.workers > 0:
        port = master_port or _free_port()
        argv += [
            "--processes",
            str(config.workers),
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(port),
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
        ]
    return argv


def _child_env(config: LoadConfig) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != CREDENTIALS_ENV}
    creds = config.credentials
    if creds is not None:
        env[CREDENTIALS_ENV] = json.dumps(
            {
                "api_key": creds.api_key,
                "hmac_application_id": creds.hmac_application_id,
                "hmac_key": creds.hmac_key,
            }
        )
    return env


def _stop(proc: subprocess.Popen[bytes], timeout: float, sig: signal.Signals = signal.SIGTERM) -> None:
    """Signal Locust (it shuts down and our plugin writes its report), SIGKILL the group if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_load(config: LoadConfig) -> LoadResult:
    """Run ``config`` to completion (or Ctrl-C) and return the judged result; never raises on a breach."""
    rd = Path(config.report_dir).resolve()  # the child runs in the project root
    rd.mkdir(parents=True, exist_ok=True)
    summary_path = rd / SUMMARY_FILE
    summary_path.unlink(missing_ok=True)
    interrupted = False
    with open(rd / "locust.log", "wb") as log:
        proc = subprocess.Popen(
            build_argv(config),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_child_env(config),
            cwd=str(rd),  # no stray locust.conf from the caller's directory
            start_new_session=True,
        )
        try:
            proc.wait(timeout=config.duration_s + _GRACE_S)
        except subprocess.TimeoutExpired:
            _stop(proc, 20.0)
        except KeyboardInterrupt:
            interrupted = True
            _stop(proc, 30.0, signal.SIGINT)  # SIGINT: Locust also writes its HTML report
    return _result(rd, proc.returncode, interrupted)


def _result(rd: Path, exit_code: int, interrupted: bool) -> LoadResult:
    summary_path = rd / SUMMARY_FILE
    files = tuple(
        p
        for p in (rd / n for n in (SUMMARY_FILE, PLOT_FILE, HDR_FILE, "locust.log", *LOCUST_FILES))
        if p.exists()
    )
    if not summary_path.exists():
        return LoadResult(
            passed=False,
            breaches=((f"run: no summary written (locust exit code {exit_code}; see {rd / 'locust.log'})"),),
            summary_path=None,
            report_files=files,
            trustworthy=False,
            exit_code=exit_code or 1,
            interrupted=interrupted,
        )
    doc = json.loads(summary_path.read_text(encoding="utf-8"))
    breaches = tuple(doc["breaches"])
    if exit_code == 2:
        breaches += ("run: user code raised exceptions (see locust.log / locust_exceptions.csv)",)
    passed = doc["passed"] and exit_code == 0 and not interrupted
    return LoadResult(
        passed=passed,
        breaches=breaches,
        summary_path=summary_path,
        report_files=files,
        trustworthy=doc["trustworthy"],
        exit_code=exit_code,
        interrupted=interrupted,
        summary=doc,
    )
