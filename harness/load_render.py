"""Render a finished load run's summary (``summary.json``) as rich tables. Renders only; computes nothing."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["render_load_summary"]

_PERCENTILES = ("p50", "p90", "p95", "p99", "p99.9", "max")


def render_load_summary(summary: dict[str, Any], console: Console) -> None:
    """Print latency per endpoint, rates and SLO verdicts.

    "service" is measured from the actual send; "corrected" (open workload only) from the intended start,
    so it includes the time an arrival waited behind a slow server (coordinated omission corrected).
    """
    table = Table(title=f"Latency in ms ({summary.get('mode', '?')} workload, HDR histograms)")
    for column in ("endpoint", "kind", "reqs", "errs", *_PERCENTILES):
        table.add_column(column, justify="left" if column in ("endpoint", "kind") else "right", no_wrap=True)
    for name, row in summary.get("endpoints", {}).items():
        for kind in ("raw", "corrected"):
            latency = (row.get("latency_ms") or {}).get(kind)
            if not latency:
                continue
            counts = (str(row["requests"]), str(row["failures"])) if kind == "raw" else ("", "")
            label = "service" if kind == "raw" else "corrected"
            short = name.split("/v1/customer_")[-1].removesuffix("/[id]")
            table.add_row(short if kind == "raw" else "", label, *counts,
                          *(f"{latency[p]:.2f}" for p in _PERCENTILES))
    console.print(table)
    rate, arrivals = summary.get("rate", {}), summary.get("arrivals", {})
    line = f"achieved {rate.get('achieved_requests_per_s') or 0:.1f} requests/s"
    if rate.get("intended_arrivals_per_s"):
        line += (f"; arrivals intended {rate['intended_arrivals_per_s']:.1f}/s, achieved "
                 f"{rate.get('achieved_arrivals_per_s') or 0:.1f}/s, late {arrivals.get('late', 0)}, "
                 f"dropped {arrivals.get('dropped', 0)}")
    console.print(line)
    for verdict in summary.get("slo", []):
        console.print(("[green]" if verdict["passed"] else "[red]") + verdict["text"] + "[/]", highlight=False)
    for warning in summary.get("warnings", []):
        console.print(f"[yellow]warning: {warning}[/]", highlight=False)
