"""``talon-harness run``: the README's main job, a short check then a short load, one summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.harness.console import make_console
from talon_harness.harness.html_report import write_load_report
from talon_harness.harness.load_render import render_load_outcome
from talon_harness.harness.summary import load_summary, publish
from talon_harness.harness.target import target
from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.run import run_load

__all__ = ["run_pipeline"]

CHECK_MAX_EXAMPLES = 25
CHECK_MAX_TIME_S = 60.0
LOAD_RATE = 20.0  # journeys per second (open workload), about 60 requests per second


def run_pipeline(*, report_dir: Path, duration: float = 20.0, seed: int = 0, console: Console | None = None) -> int:
    """Run ``check`` (short budget) then ``load`` against one embedded reference server.

    Returns the process exit code: 0 when the check found nothing and every SLO held, else 1.
    Reports go to ``report_dir/check`` and ``report_dir/load``.
    """
    console = console or make_console()
    with target(None) as base_url:
        checked = run_check(CheckConfig(
            base_url=base_url, max_examples=CHECK_MAX_EXAMPLES, max_time=CHECK_MAX_TIME_S, seed=seed,
            report_dir=report_dir / "check", fresh_server=True,
        ), console=console)
        loaded = run_load(LoadConfig(
            base_url=base_url, rate=LOAD_RATE, duration_s=duration, report_dir=report_dir / "load", seed=seed,
        ))
    if loaded.outcome is not None:
        render_load_outcome(loaded.outcome, console)
    if loaded.summary_path:
        write_load_report(loaded.summary_path.parent, target=base_url)
        publish(*load_summary(loaded.summary_path.parent))
    table = Table(title="talon-harness run")
    table.add_column("step")
    table.add_column("verdict")
    table.add_column("reports")
    table.add_row("check", "[green]pass[/]" if checked.exit_code == 0 else "[red]fail[/]", str(report_dir / "check" / "report.html"))
    table.add_row("load", "[green]pass[/]" if loaded.passed else "[red]fail[/]", str(report_dir / "load" / "report.html"))
    console.print(table)
    return 0 if checked.exit_code == 0 and loaded.passed else 1
