"""Rendering a finished check run with rich: phases, operations, checks, failures. Computes nothing."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from talon_harness.contracts.checks import DOMAIN_CHECKS
from talon_harness.harness._check_report import PHASES, Report

__all__ = ["render"]

_REPORT_FILES = ("report.html", "junit.xml", "report.json", "html/index.html", "schemathesis.log",
                 "events.ndjson")


def render(console: Console, report: Report | None, *, seed: int, seconds: float, exit_code: int, message: str,
           report_dir: Path, base_url: str) -> None:
    """Print the summary of a run (tables, failures with curl + seed, verdict)."""
    if report is not None:
        phases = Table(title="Generated cases per phase", title_justify="left")
        for column in ("phase", "positive", "negative", "total"):
            phases.add_column(column, justify="left" if column == "phase" else "right")
        for phase in PHASES:
            counts = report.cases_per_phase.get(phase)
            if counts is None:
                continue
            phases.add_row(phase, str(counts["positive"]), str(counts["negative"]), str(sum(counts.values())))
        phases.add_row("[bold]all", "", "", f"[bold]{report.total_cases}")
        console.print(phases)

        operations = Table(title="Per operation", title_justify="left")
        for column in ("operation", "cases", "failed cases"):
            operations.add_column(column, justify="left" if column == "operation" else "right")
        for label, counts in sorted(report.operations.items()):
            operations.add_row(label, str(counts["cases"]), _red(counts["failed"]))
        console.print(operations)

        checks = Table(title="Per check (not applicable: the rule or check did not apply to the case)",
                       title_justify="left")
        for column in ("check", "kind", "passed", "failed", "not applicable"):
            checks.add_column(column, justify="left" if column in ("check", "kind") else "right")
        for name, counts in sorted(report.checks.items(), key=lambda kv: (kv[0] not in DOMAIN_CHECKS, kv[0])):
            checks.add_row(name, "domain" if name in DOMAIN_CHECKS else "built-in", str(counts["success"]),
                           _red(counts["failure"]),
                           str(report.total_cases - counts["success"] - counts["failure"]))
        console.print(checks)

        for number, failure in enumerate(report.failures, 1):
            console.rule(f"[red]Failure {number}: {failure.check}[/red] ({failure.code}, {failure.operation}, "
                         f"{failure.phase} phase)")
            console.print(failure.message, markup=False, highlight=False)
            if failure.curl:
                console.print("Reproduce:", style="bold")
                console.print("  " + failure.curl, markup=False, highlight=False, soft_wrap=True)
            console.print(f"  seed: {seed}  (talon-harness check --seed {seed} ...)", markup=False)
    verdict = {0: "[green]PASSED[/green]", 1: "[red]FAILED[/red]", 2: "[red]ERROR[/red]"}.get(exit_code, "stopped")
    failures = len(report.failures) if report else 0
    cases = report.total_cases if report else 0
    requests = report.requests if report else 0
    if exit_code == 0 and failures:
        console.print(f"[yellow]{failures} failure(s) above are accepted by the baseline[/yellow]")
    console.print(f"{verdict}  target={base_url}  cases={cases}  requests={requests}  failures={failures}  "
                  f"seed={seed}  {seconds:.1f}s")
    if message:
        console.print(f"[red]{message}[/red]", markup=True, highlight=False)
    files = [name for name in _REPORT_FILES if (report_dir / name).exists()]
    if files:
        console.print(f"Reports: {report_dir} ({', '.join(files)}); open {report_dir / 'report.html'}",
                      markup=False, highlight=False, soft_wrap=True)


def _red(value: int) -> str:
    return f"[red]{value}[/red]" if value else "0"
