"""Render a `SelftestResult` as a rich table and as Markdown (rendering only; nothing is computed here
beyond grouping the rows per fault)."""

from __future__ import annotations

import statistics
from collections import defaultdict

from rich.console import Console
from rich.table import Table

from talon_harness.harness.selftest import CORRECT, Detection, SelftestResult
from talon_harness.refserver.faults import FAULTS, V2_FAULTS

__all__ = ["markdown", "render"]

_HEADER = ("fault", "class", "rule", "ours", "caught by", "req to 1st", "s to 1st", "st run", "st req")


def _cells(fault: str, rows: list[Detection]) -> tuple[str, ...]:
    ours = [r for r in rows if r.tool == "talon-harness"]
    base = [r for r in rows if r.tool == "schemathesis"]
    spec = FAULTS.get(fault) or V2_FAULTS.get(fault)

    def hits(chosen: list[Detection]) -> str:
        return f"{sum(r.detected for r in chosen)}/{len(chosen)}" if chosen else "-"

    def median(values: list[float | int | None]) -> str:
        known = [v for v in values if v is not None]
        return f"{statistics.median(known):g}" if known else "-"

    by = sorted({b for r in ours for b in r.by})
    return (fault or "(correct server)", spec.fault_class if spec else "-", spec.rule if spec else "-",
            hits(ours), ", ".join(by)[:60], median([r.requests for r in ours if r.detected]),
            median([round(r.seconds_to_failure, 1) for r in ours if r.detected and r.seconds_to_failure is not None]),
            hits(base), median([r.requests for r in base if r.detected]))


def _grouped(result: SelftestResult) -> dict[str, list[Detection]]:
    grouped: dict[str, list[Detection]] = defaultdict(list)
    for row in result.rows:
        grouped[row.fault].append(row)
    return grouped


def render(console: Console, result: SelftestResult) -> None:
    table = Table(title="talon-harness selftest: detected runs per fault (ours vs plain `st run`)",
                  title_justify="left")
    for name in _HEADER:
        table.add_column(name, justify="right" if "req" in name or name.startswith("s ") else "left")
    for fault, rows in _grouped(result).items():
        table.add_row(*_cells(fault, rows), style="dim" if fault == CORRECT else None)
    console.print(table)
    base = "-" if result.baseline_rate is None else f"{result.baseline_rate:.0%}"
    verdict = "[red]ERROR[/]" if result.harness_errors else "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
    for error in result.harness_errors:
        console.print(f"[red]Error:[/] the correct server's run did not complete ({error})")
    console.print(f"{verdict}  detection {result.detection_rate:.0%} (plain schemathesis {base}); "
                  f"correct server clean: {result.correct_server_clean}; JSON: {result.json_path}")


def markdown(result: SelftestResult) -> str:
    lines = ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    for fault, rows in _grouped(result).items():
        lines.append("| " + " | ".join(c.replace("|", "/") for c in _cells(fault, rows)) + " |")
    return "\n".join(lines) + "\n"
