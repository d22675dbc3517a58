"""run_load: one bounded, headless Locust run in a subprocess, judged by our SLO gates.

First the target must answer the probe of :mod:`loadtests.probe` (within its ``PROBE_TIMEOUT_S``) and
take the credentials, as ``check`` requires; otherwise the run does not start. When the run's answers
include 401/403 and a second probe after it is refused too, the credentials stopped working mid-run:
that is one problem (exit 2, the run could not be completed), not a breach by the target.
The run is a ``python -m locust`` subprocess (``--processes
N`` for N local workers plus a master; ``--master`` for a master whose workers run elsewhere, each
started by :func:`run_worker`), started in its own session so a Ctrl-C reaches only us: we then
send it SIGINT, Locust shuts down cleanly (HTML report included) and our plugin still writes the
(partial) report. The subprocess is killed if it outlives the duration by more than a grace period.
The config crosses as one document (D41): ``LoadConfig.to_env()``, credentials inside, in the child's
environment (``loadtests.config.LOAD_SETTINGS_ENV``), which the forked workers inherit; Locust's argv holds
only Locust's own options, derived from the same config by :func:`build_argv`, never a secret. A worker of
:func:`run_worker` gets its own document (its credentials; every other setting comes from the master at test
start). Locust's console output goes to ``locust.log`` in the report directory.

Exit codes (:attr:`LoadResult.exit_code`): 0 every SLO held; 1 an SLO was breached; 2 the harness could
not measure (target unreachable or silent, credentials refused at the start or mid-run, no request completed,
Locust wrote no summary); 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from talon_harness.loadtests.baseline import nothing_measured
from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.locustfile_path import LOCUSTFILE, SHAPEFILE
from talon_harness.loadtests.outcome import LoadOutcome
from talon_harness.loadtests.probe import NO_REQUEST_COMPLETED, probe_target, refused_midway
from talon_harness.loadtests.replay import REPLAY_LOCUSTFILE
from talon_harness.loadtests.report import HDR_FILE, PLOT_FILE, SUMMARY_FILE, read_outcome

__all__ = [
    "WORKERS_WAIT_S",
    "LoadResult",
    "WorkerResult",
    "build_argv",
    "build_worker_argv",
    "child_env",
    "run_load",
    "run_worker",
]

LOCUST_PREFIX = "locust"
LOCUST_FILES = (
    "locust.html",
    "locust.json",
    "locust_stats.csv",
    "locust_stats_history.csv",
    "locust_failures.csv",
    "locust_exceptions.csv",
)
WORKERS_WAIT_S = 60.0  # how long a --master waits for its workers before it gives up
_GRACE_S = 45.0
#: the locustfile's failure message for a refused request (``loadtests.locustfile``: "unexpected status 401")
_REFUSED_FAILURE = re.compile(r"unexpected status (401|403)\b")


@dataclass(frozen=True)
class LoadResult:
    """Outcome of one ``run_load``: the judged :class:`LoadOutcome` (None when the run never measured),
    harness-level problems, the report files and how the run ended."""

    outcome: LoadOutcome | None
    problems: tuple[str, ...] = ()
    report_files: tuple[Path, ...] = ()
    summary_path: Path | None = None
    interrupted: bool = False
    locust_exit_code: int | None = None

    @property
    def measured(self) -> bool:
        """At least one request completed and nothing stopped the harness from judging it."""
        return self.outcome is not None and self.outcome.completed > 0 and not self.problems

    @property
    def passed(self) -> bool:
        return self.measured and self.outcome is not None and self.outcome.passed and not self.interrupted

    @property
    def trustworthy(self) -> bool:
        return self.outcome is not None and self.outcome.trustworthy

    @property
    def breaches(self) -> tuple[str, ...]:
        """Every reason the run did not pass: harness problems first, then breached SLOs."""
        return self.problems + (self.outcome.breaches if self.outcome is not None else ())

    @property
    def exit_code(self) -> int:
        """0 pass, 1 SLO breach, 2 nothing measured (see the module docstring), 130 interrupted."""
        if self.interrupted:
            return 130
        if not self.measured:
            return 2
        return 0 if self.passed else 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_argv(config: LoadConfig, *, master_port: int | None = None) -> list[str]:
    """The locust command line for ``config`` (pure): Locust's own options only, no setting of ours and no
    secret (those travel in the document of :func:`child_env`, D41)."""
    rd = Path(config.report_dir).resolve()  # the child runs in the report directory
    files = f"{LOCUSTFILE},{SHAPEFILE}" if config.shape else str(LOCUSTFILE)
    if config.replay is not None:
        files = str(REPLAY_LOCUSTFILE)
    users = config.locust_users
    spawn = (
        float(users)
        if config.rate is not None
        else config.spawn_rate or users / max(1.0, min(10.0, config.duration_s * 0.1))
    )
    argv = [
        sys.executable, "-P", "-m", "locust", "-f", files, "--headless",
        "--host", config.base_url.rstrip("/"),
        "-t", f"{max(1, math.ceil(config.duration_s))}s",
        "-u", str(users), "-r", repr(spawn),
        "--only-summary", "--exit-code-on-error", "1",
        "--html", str(rd / "locust.html"), "--csv", str(rd / LOCUST_PREFIX), "--json-file", str(rd / LOCUST_PREFIX),
    ]  # fmt: skip
    if config.workers > 0:
        port = master_port or _free_port()
        argv += [
            "--processes", str(config.workers),
            "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--master-host", "127.0.0.1", "--master-port", str(port),
        ]  # fmt: skip
    elif config.master:
        argv += [
            "--master", "--expect-workers", str(config.expect_workers),
            "--expect-workers-max-wait", f"{WORKERS_WAIT_S:g}",
            "--master-bind-host", config.master_host, "--master-bind-port", str(config.master_port),
        ]  # fmt: skip
    return argv


def build_worker_argv(config: LoadConfig) -> list[str]:
    """The locust command line of a worker (pure): it fetches the locustfiles and the run's settings
    from the master at ``config.master_host:master_port``; its exit code never judges the run."""
    return [
        sys.executable, "-P", "-m", "locust", "-f", "-", "--worker",
        "--master-host", config.master_host, "--master-port", str(config.master_port),
        "--exit-code-on-error", "0",
    ]  # fmt: skip


def _for_child(config: LoadConfig) -> LoadConfig:
    """``config`` as the child needs it: absolute paths (it runs in the report directory)."""
    baseline = Path(config.baseline).resolve() if config.baseline is not None else None
    replay = Path(config.replay).resolve() if config.replay is not None else None
    report_dir = Path(config.report_dir).resolve()
    return dataclasses.replace(config, report_dir=report_dir, baseline=baseline, replay=replay)


def child_env(config: LoadConfig) -> dict[str, str]:
    """A Locust process's environment: ours with the one document of ``config`` (absolute paths, credentials
    inside; D41) in place of any inherited one. :func:`build_argv` and :func:`build_worker_argv` start a
    Locust process only with it: without it the locustfile runs on ``LoadConfig``'s defaults."""
    return {**os.environ, **_for_child(config).to_env()}  # an inherited document is replaced


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
    """Probe the target, run ``config`` to completion (or Ctrl-C), return the judged result; never raises
    on a breach or an unreachable target."""
    probe = probe_target(config.base_url, config.credentials)
    if probe.problem:
        return LoadResult(None, problems=(probe.problem,))
    rd = Path(config.report_dir).resolve()
    rd.mkdir(parents=True, exist_ok=True)
    (rd / SUMMARY_FILE).unlink(missing_ok=True)
    interrupted = False
    with open(rd / "locust.log", "wb") as log:
        proc = subprocess.Popen(
            build_argv(config),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(config),
            cwd=str(rd),  # no stray locust.conf from the caller's directory
            start_new_session=True,
        )
        try:
            proc.wait(timeout=config.duration_s + _GRACE_S + (WORKERS_WAIT_S if config.master else 0.0))
        except subprocess.TimeoutExpired:
            _stop(proc, 20.0)
        except KeyboardInterrupt:
            interrupted = True
            _stop(proc, 30.0, signal.SIGINT)  # SIGINT: Locust also writes its HTML report
    return _refused_midway(_result(rd, proc.returncode, interrupted), config)


def _refused_midway(result: LoadResult, config: LoadConfig) -> LoadResult:
    """``result`` plus one problem when requests were answered 401/403 and a second probe is refused too:
    the credentials stopped working during the run (see the module docstring)."""
    outcome = result.outcome
    refusals = sum(f.occurrences for f in outcome.failures if _REFUSED_FAILURE.search(f.error)) if outcome else 0
    if not refusals or result.interrupted:
        return result
    again = probe_target(config.base_url, config.credentials)
    if not again.refused:
        return result  # refused for a while only: the target's own failures, judged by the SLOs
    return dataclasses.replace(result, problems=(*result.problems, "run: " + refused_midway(
        again, refusals, "the SLO verdicts above do not judge the target")))


@dataclass(frozen=True)
class WorkerResult:
    """How one ``run_worker`` ended: 0 the master ended the run (the verdict is the master's), 2 the worker
    could not take part (``problems`` says why), 130 interrupted."""

    exit_code: int
    problems: tuple[str, ...]
    log_path: Path


def run_worker(config: LoadConfig) -> WorkerResult:
    """Run one Locust worker for the master at ``config.master_host:master_port`` until the master ends
    the run, goes missing, or ``duration_s`` + the workers' wait + a grace period pass; never raises."""
    rd = Path(config.report_dir).resolve()
    rd.mkdir(parents=True, exist_ok=True)
    log_path = rd / f"locust-worker-{socket.gethostname()}-{os.getpid()}.log"
    problems: tuple[str, ...] = ()
    interrupted = False
    # the locustfiles fetched from the master land in TMPDIR: a private one, so workers sharing a host
    # never read each other's half-written copy
    with tempfile.TemporaryDirectory(prefix="talon-worker-") as tmp, open(log_path, "wb") as log:
        proc = subprocess.Popen(
            build_worker_argv(config),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**child_env(config), "TMPDIR": tmp},
            cwd=tmp,
            start_new_session=True,
        )
        limit = config.duration_s + WORKERS_WAIT_S + _GRACE_S
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _stop(proc, 20.0)
            problems += (f"worker: still running after {limit:g} s (the master never ended the run); stopped",)
        except KeyboardInterrupt:
            interrupted = True
            _stop(proc, 30.0, signal.SIGINT)
    if interrupted:
        return WorkerResult(130, problems, log_path)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if "Failed to connect to master" in text or "ConnectionError" in text:
        problems += (f"worker: could not reach the master at {config.master_host}:{config.master_port}",)
    if proc.returncode != 0 and not problems:
        problems += (f"worker: locust exited with code {proc.returncode} (see {log_path})",)
    return WorkerResult(2 if problems else 0, problems, log_path)


def _gave_up_on_workers(log: Path) -> bool:
    try:
        return "Gave up waiting for workers to connect" in log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _result(rd: Path, exit_code: int, interrupted: bool) -> LoadResult:
    names = (SUMMARY_FILE, PLOT_FILE, HDR_FILE, "locust.log", *LOCUST_FILES)
    files = tuple(p for p in (rd / n for n in names) if p.exists())
    try:
        outcome = read_outcome(rd)
    except (OSError, ValueError, KeyError) as exc:
        problem = (
            f"run: no summary written (locust exit code {exit_code}; see {rd / 'locust.log'}): "
            f"{type(exc).__name__}"
        )
        if _gave_up_on_workers(rd / "locust.log"):
            problem = f"run: the master gave up waiting for its workers after {WORKERS_WAIT_S:g} s"
        return LoadResult(None, (problem,), files, None, interrupted, exit_code)
    problems: tuple[str, ...] = ()
    if outcome.completed == 0:
        problems += (f"run: {NO_REQUEST_COMPLETED}: the target answered none of the load's requests",)
    unmeasured = nothing_measured(outcome.baseline, outcome.duration_s)  # a baseline that judged no tail
    if unmeasured is not None:
        problems += (unmeasured,)
    if exit_code == 2:
        problems += ("run: user code raised exceptions (see locust.log / locust_exceptions.csv)",)
    return LoadResult(outcome, problems, files, rd / SUMMARY_FILE, interrupted, exit_code)
