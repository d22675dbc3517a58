"""Rendering a finished check run with rich: phases, operations, checks, failures. Computes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from talon_harness.contracts.apis import is_domain_check
from talon_harness.contracts.witness import WitnessResult
from talon_harness.harness._check_report import PHASES, Report
from talon_harness.strategies.wire import Credentials

__all__ = ["render"]

_REPORT_FILES = ("report.html", "junit.xml", "report.json", "html/index.html", "schemathesis.log",
                 "events.ndjson")


def render(console: Console, report: Report | None, *, seed: int, seconds: float, exit_code: int, message: str,
           report_dir: Path, base_url: str, witness: WitnessResult | None = None, creds: Credentials | None = None,
           curl: Callable[..., str] | None = None) -> None:
    """Print the summary of a run (tables, failures with curl + seed, verdict)."""
    if witness is not None:
        _render_witness(console, witness, creds, curl)
    if report is not None:
        phases = Table(title="Generated cases per phase", title_justify="left")
        for column in ("phase", "positive", "negative", "total"):
            phases.add_column(column, justify="left" if column == "phase" else "right")
        if witness is not None:
            phases.add_row("witness (fixed sequences)", "", "", f"{witness.requests} requests")
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
        for name, counts in sorted(report.checks.items(), key=lambda kv: (not is_domain_check(kv[0]), kv[0])):
            checks.add_row(name, "domain" if is_domain_check(name) else "built-in", str(counts["success"]),
                           _red(counts["failure"]),
                           str(report.total_cases - counts["success"] - counts["failure"]))
        console.print(checks)

        for number, failure in enumerate(report.failures, 1):
            console.rule(f"[red]Failure {number}: {failure.check}[/red] ({_decision(failure.violation.decision)}"
                         f"{failure.code}, {failure.operation}, {failure.phase} phase)")
            console.print(failure.message, markup=False, highlight=False)
            if failure.curl:
                console.print("Reproduce:", style="bold")
                console.print("  " + failure.curl, markup=False, highlight=False, soft_wrap=True)
            console.print(f"  seed: {seed}  (talon-harness check --seed {seed} ...)", markup=False)
    verdict = {0: "[green]PASSED[/green]", 1: "[red]FAILED[/red]", 2: "[red]ERROR[/red]"}.get(exit_code, "stopped")
    failures = (len(report.failures) if report else 0) + (len(witness.failures) if witness else 0)
    cases = report.total_cases if report else 0
    requests = (report.requests if report else 0) + (witness.requests if witness else 0)
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


def _render_witness(console: Console, witness: WitnessResult, creds: Credentials | None,
                    curl: Callable[..., str] | None) -> None:
    table = Table(title=f"Witness phase: every decision of every domain rule, fixed sequences "
                        f"({witness.seconds:.1f}s)", title_justify="left")
    for column in ("witness", "requests", "failed requests"):
        table.add_column(column, justify="left" if column == "witness" else "right")
    for name, (requests, failed) in witness.witnesses.items():
        table.add_row(name, str(requests), _red(failed))
    table.add_row("[bold]all", f"[bold]{witness.requests}", _red(sum(f for _, f in witness.witnesses.values())))
    console.print(table)
    for number, failure in enumerate(witness.failures, 1):
        console.rule(f"[red]Witness failure {number}: {failure.check}[/red] ({_decision(failure.violation.decision)}"
                     f"witness {failure.witness}, step {failure.step}, request {failure.request_number})")
        console.print(failure.message, markup=False, highlight=False)
        if curl is not None:
            console.print("Reproduce:", style="bold")
            console.print("  " + curl(failure.method, failure.url, failure.headers, failure.body, creds),
                          markup=False, highlight=False, soft_wrap=True)
    if witness.error:
        console.print(f"[red]witness phase stopped: {witness.error}[/red]", highlight=False)


def _decision(decision: str) -> str:
    """``"D5, "`` for a domain rule's violation, "" for a built-in check's."""
    return f"{decision}, " if decision else ""


def _red(value: int) -> str:
    return f"[red]{value}[/red]" if value else "0"
