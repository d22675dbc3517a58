"""``talon-harness run``: the README's main job, a short check then a short load, one summary."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console
from rich.table import Table

from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.harness.console import make_console
from talon_harness.harness.html_report import write_load_report
from talon_harness.harness.load_render import render_load_outcome
from talon_harness.harness.summary import load_summary, publish
from talon_harness.harness.target import check_credentials, target
from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.run import run_load
from talon_harness.strategies.wire import Credentials

__all__ = ["run_pipeline"]

CHECK_MAX_EXAMPLES = 25
CHECK_MAX_TIME_S = 60.0
LOAD_RATE = 20.0  # journeys per second (open workload), about 60 requests per second


def run_pipeline(*, report_dir: Path, check_time: float = CHECK_MAX_TIME_S, duration: float = 20.0, seed: int = 0,
                 base_url: str | None = None, credentials: Credentials | None = None, allow_remote: bool = False,
                 max_rate: float | None = None, oracle: bool = False, console: Console | None = None,
                 api: str = "v1") -> int:
    """Run ``check`` (short budget, at most ``check_time`` seconds), then ``load`` for ``duration`` seconds
    (capped at ``max_rate`` requests/s), against ``base_url`` or else one embedded reference server
    started with ``credentials``; both steps send ``credentials``. ``oracle``: the check step runs with
    ``CheckConfig.oracle`` (every answer compared with a fresh reference server's). ``api``: the API both steps
    test (``contracts.spec.API_NAMES``); the embedded server speaks it (on v2 with a fresh API key when no
    credentials are given: ``harness.target.check_credentials``).

    Returns the process exit code: 0 when the check found nothing and every SLO held; 2 when the check
    could not run (the load step is skipped then); 130 when interrupted; else 1. Reports go to
    ``report_dir/check`` and ``report_dir/load``. Raises ValueError on an invalid load configuration
    (e.g. a non-loopback ``base_url`` without ``allow_remote``) before any traffic is sent.
    """
    console = console or make_console()
    credentials = check_credentials(api, base_url, credentials)
    load_config = LoadConfig(
        base_url=base_url or "http://127.0.0.1", rate=LOAD_RATE, duration_s=duration, report_dir=report_dir / "load",
        max_rate=max_rate, credentials=credentials, seed=seed, allow_remote=allow_remote, api=api,
    )
    with target(base_url, credentials, api=api) as url:
        checked = run_check(CheckConfig(
            base_url=url, credentials=credentials, max_examples=CHECK_MAX_EXAMPLES, max_time=check_time,
            seed=seed, report_dir=report_dir / "check", fresh_server=not base_url, oracle=oracle, api=api,
        ), console=console)
        if checked.exit_code in (2, 130):
            return checked.exit_code
        loaded = run_load(dataclasses.replace(load_config, base_url=url))
    if loaded.outcome is not None:
        render_load_outcome(loaded.outcome, console)
    for problem in loaded.problems:
        console.print(f"[red]{'Error: ' if loaded.exit_code == 2 else ''}{problem}[/]", soft_wrap=True, highlight=False)
    if loaded.summary_path:
        write_load_report(loaded.summary_path.parent, target=url)
        publish(*load_summary(loaded.summary_path.parent, loaded.problems))
    table = Table(title="talon-harness run")
    table.add_column("step")
    table.add_column("verdict")
    table.add_column("reports")
    table.add_row("check", "[green]pass[/]" if checked.exit_code == 0 else "[red]fail[/]", str(report_dir / "check" / "report.html"))
    table.add_row("load", "[green]pass[/]" if loaded.passed else "[red]fail[/]", str(report_dir / "load" / "report.html"))
    console.print(table)
    if loaded.interrupted:
        return 130
    if checked.exit_code == 0 and loaded.exit_code == 2:  # the load measured nothing: no verdict on it
        return 2
    return 0 if checked.exit_code == 0 and loaded.passed else 1
