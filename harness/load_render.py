"""Render a finished load run (a :class:`LoadOutcome`) as rich tables. Renders only; computes nothing."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from talon_harness.loadtests.baseline import unjudged
from talon_harness.loadtests.outcome import LoadOutcome

__all__ = ["render_load_outcome", "render_verdict"]

_PERCENTILES = ("p50", "p90", "p95", "p99", "p99.9", "max")


def render_load_outcome(outcome: LoadOutcome, console: Console) -> None:
    """Print latency per endpoint, rates, SLO verdicts and warnings.

    "service" is measured from the actual send; "corrected" (open workload only) from the intended start,
    so it includes the time an arrival waited behind a slow server (coordinated omission corrected).
    """
    table = Table(title=f"Latency in ms ({outcome.mode} workload, HDR histograms)")
    for column in ("endpoint", "kind", "reqs", "errs", *_PERCENTILES):
        table.add_column(column, justify="left" if column in ("endpoint", "kind") else "right", no_wrap=True)
    for row in outcome.endpoints:
        short = row.name.split("/v1/customer_")[-1].removesuffix("/[id]")
        for kind, latency in (("service", row.raw), ("corrected", row.corrected)):
            if not latency:
                continue
            counts = (str(row.requests), str(row.failures)) if kind == "service" else ("", "")
            table.add_row(
                short if kind == "service" else "",
                kind,
                *counts,
                *(f"{latency[p]:.2f}" for p in _PERCENTILES),
            )
    console.print(table)
    line = f"achieved {outcome.achieved_requests_per_s:.1f} requests/s"
    if outcome.intended_arrivals_per_s:
        line += (
            f"; arrivals intended {outcome.intended_arrivals_per_s:.1f}/s, achieved "
            f"{outcome.achieved_arrivals_per_s or 0:.1f}/s, late {outcome.arrivals.late}, "
            f"dropped {outcome.arrivals.dropped}"
        )
    console.print(line)
    for verdict in outcome.verdicts:
        _line(console, verdict.describe(), "green" if verdict.passed else "red")
    for b in outcome.baseline:
        _line(console, b.describe(), {"pass": "green", "skip": "yellow"}.get(b.status, "red"))
    for warning in outcome.warnings:
        _line(console, f"warning: {warning}", "yellow")


def render_verdict(outcome: LoadOutcome, console: Console) -> None:
    """The last line of a run that passed: "load: every SLO held" only when every gate was judged; when
    baseline gates were skipped, "load: every judged gate held; " and how many were not, and what duration
    or rate would judge them (:func:`loadtests.baseline.unjudged`)."""
    gap = unjudged(outcome.baseline, outcome.duration_s)
    if gap is None:
        _line(console, "load: every SLO held", "green")
    else:
        _line(console, f"load: every judged gate held; {gap.describe()}", "yellow")


def _line(console: Console, text: str, colour: str) -> None:
    """``text`` as one line in ``colour``: never wrapped, never read as markup (an endpoint's "[id]" stays)."""
    console.print(text, style=colour, markup=False, highlight=False, soft_wrap=True)
