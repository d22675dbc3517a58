"""Runs of the real CLI as a CI job runs it (stdout piped, ``GITHUB_STEP_SUMMARY`` set), shared by the CI
output and report tests: one passing check, one failing check, one load that breaches an SLO."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CliRun:
    """One finished CLI run: exit code, combined output, its report dir and step summary, seconds."""

    rc: int
    output: str
    report_dir: Path
    step_summary: str
    seconds: float


def ci_env(**extra: str) -> dict[str, str]:
    """The environment of a CI step: no terminal width, no colour forcing."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "NO_COLOR", "LINES")}
    env.update(extra)
    return env


def run_cli(args: list[str], workdir: Path, *, timeout: float = 180) -> CliRun:
    """``python -m talon_harness.harness ARGS --report-dir workdir/report`` with stdout piped."""
    summary = workdir / "step_summary.md"
    report_dir = workdir / "report"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "talon_harness.harness", *args, "--report-dir", str(report_dir)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
                          env=ci_env(GITHUB_STEP_SUMMARY=str(summary)), timeout=timeout, check=False)
    text = summary.read_text(encoding="utf-8") if summary.exists() else ""
    return CliRun(proc.returncode, proc.stdout.decode(errors="replace"), report_dir, text,
                  time.monotonic() - started)


CHECK_ARGS = ["check", "--max-time", "8", "--max-examples", "3", "--seed", "1"]


@pytest.fixture(scope="session")
def passing_check(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """``talon-harness check`` (short budget) against the embedded reference server."""
    return run_cli(CHECK_ARGS, tmp_path_factory.mktemp("passing_check"))


@pytest.fixture(scope="session")
def failing_check(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRun]:
    """``talon-harness check`` against a server whose event ids never increase."""
    from tests.harness.test_check import broken_server  # imported late: it builds strategies

    with broken_server() as url:
        yield run_cli([*CHECK_ARGS, "--base-url", url], tmp_path_factory.mktemp("failing_check"))


@pytest.fixture(scope="session")
def failing_load(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """A 6-second open-model load on the embedded server with a p95 limit no server meets (0.001 ms)."""
    workdir = tmp_path_factory.mktemp("failing_load")
    slo = workdir / "slo.toml"
    slo.write_text("[overall]\np95_ms = 0.001\n", encoding="utf-8")
    return run_cli(["load", "--rate", "5", "--duration", "6", "--slo", str(slo)], workdir)
