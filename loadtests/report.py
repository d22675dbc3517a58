"""Our reports: a JSON summary (HDR percentiles raw + corrected, SLO verdicts, rates, generator CPU), the
HDR histograms themselves, and (``loadtests.plots``) a PNG of latency percentiles and throughput over time.

Locust's own HTML/CSV/JSON reports are written by Locust (``--html``, ``--csv``, ``--json-file``). No
credential ever reaches these files: the summary holds settings, not the environment.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from talon_harness.loadtests.gates import OVERALL_SCOPE, EndpointStats, RunStats, Verdict, breached, evaluate
from talon_harness.loadtests.plots import write_plots
from talon_harness.loadtests.recorder import OVERALL, LatencyRecorder, percentiles_ms

if TYPE_CHECKING:
    from talon_harness.loadtests._plugin import TalonPlugin

__all__ = [
    "HDR_FILE",
    "PLOT_FILE",
    "SUMMARY_FILE",
    "Outcome",
    "cpu_trust",
    "finish",
    "run_stats",
    "summary",
]

SUMMARY_FILE = "summary.json"
PLOT_FILE = "latency.png"
HDR_FILE = "hdr.json"


@dataclass(frozen=True)
class Outcome:
    passed: bool
    verdicts: tuple[Verdict, ...]
    trustworthy: bool
    files: tuple[Path, ...]


CPU_SATURATED_PERCENT = 90.0
SATURATED_SHARE = 0.1


def cpu_trust(
    samples: list[float], machine: list[float], *, locust_warnings: int = 0
) -> tuple[bool, dict[str, Any]]:
    """(trustworthy, details): a run is untrustworthy when at least 10% of the per-second samples show
    the busiest generator process at >= 90% of a core (it then queues requests and inflates latency)."""
    saturated = sum(1 for s in samples if s >= CPU_SATURATED_PERCENT)
    share = saturated / len(samples) if samples else 0.0
    details = {
        "samples": len(samples),
        "max_process_percent": max(samples, default=None),
        "mean_process_percent": round(sum(samples) / len(samples), 1) if samples else None,
        "saturated_share": share,
        "threshold_percent": CPU_SATURATED_PERCENT,
        "locust_cpu_warnings": locust_warnings,
        "machine_mean_percent": round(sum(machine) / len(machine), 1) if machine else None,
    }
    return not (samples and share >= SATURATED_SHARE), details


def run_stats(recorder: LatencyRecorder, duration_s: float) -> RunStats:
    """Gate input from a recorder: one row per endpoint plus the overall row under "overall"."""
    rows = {}
    for name in recorder.endpoints():
        c = recorder.totals(name)
        raw = recorder.histogram(name)
        corrected = recorder.histogram(name, corrected=True)
        rows[OVERALL_SCOPE if name == OVERALL else name] = EndpointStats(
            name=name,
            requests=c.requests,
            failures=c.failures,
            raw=percentiles_ms(raw) if raw is not None else None,
            corrected=percentiles_ms(corrected) if corrected is not None else None,
        )
    a = recorder.arrivals
    return RunStats(
        endpoints=rows, duration_s=duration_s, intended_arrivals=a["intended"], dropped_arrivals=a["dropped"]
    )


def summary(
    stats: RunStats,
    verdicts: tuple[Verdict, ...],
    *,
    recorder: LatencyRecorder,
    settings: dict[str, Any],
    trustworthy: bool,
    cpu: dict[str, Any],
    failures: list[dict[str, Any]],
) -> dict[str, Any]:
    """The JSON summary as a dict (see module docstring); pure."""
    d = stats.duration_s
    a = recorder.arrivals
    rate = settings.get("rate") or None
    warnings = []
    if not trustworthy:
        warnings.append(
            "load generator CPU saturated: latencies include generator queueing; "
            "add workers or lower the load"
        )
    overall = stats.endpoints.get(OVERALL_SCOPE)
    return {
        "passed": not breached(verdicts),
        "breaches": [v.describe() for v in breached(verdicts)],
        "trustworthy": trustworthy,
        "warnings": warnings,
        "mode": "open" if rate else "closed",
        "duration_s": round(d, 3),
        "endpoints": {
            name: {
                "requests": row.requests,
                "failures": row.failures,
                "error_ratio": row.failures / row.requests if row.requests else 0.0,
                "rate_rps": row.requests / d if d > 0 else 0.0,
                "latency_ms": {"raw": row.raw, "corrected": row.corrected},
            }
            for name, row in stats.endpoints.items()
        },
        "rate": {
            "intended_arrivals_per_s": rate,
            "scheduled_arrivals_per_s": a["intended"] / d if rate and d > 0 else None,  # incl. start-up
            "achieved_arrivals_per_s": (a["intended"] - a["dropped"]) / d if rate and d > 0 else None,
            "achieved_requests_per_s": (overall.requests / d) if overall and d > 0 else 0.0,
            "max_requests_per_s": settings.get("max_rate") or None,
        },
        "arrivals": {
            **a,
            "late_ratio": a["late"] / a["intended"] if a["intended"] else 0.0,
            "dropped_ratio": a["dropped"] / a["intended"] if a["intended"] else 0.0,
            "late_threshold_ms": settings.get("late_ms"),
        },
        "slo": [v.to_dict() for v in verdicts],
        "generator_cpu": cpu,
        "failures": failures,
        "settings": settings,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "histograms": {"unit": "microseconds", "significant_digits": 3, "file": HDR_FILE},
    }


def _hdr_dump(recorder: LatencyRecorder) -> dict[str, Any]:
    return {
        "unit": "microseconds",
        "significant_digits": 3,
        "encoding": "HdrHistogram V2 base64 (compressed)",
        "raw": {k: h.encode().decode() for k, h in recorder.raw.items()},
        "corrected": {k: h.encode().decode() for k, h in recorder.corrected.items()},
    }


def _failures(plugin: TalonPlugin) -> list[dict[str, Any]]:
    runner = plugin.environment.runner
    if runner is None:
        return []
    errors = sorted(runner.stats.errors.values(), key=lambda e: -e.occurrences)[:20]
    return [
        {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in errors
    ]


def _table(stats: RunStats) -> list[str]:
    """HDR percentiles (ms) as console lines: raw, and corrected where the run has it."""
    cols = ("p50", "p90", "p95", "p99", "p99.9", "max")
    lines = [f"{'HDR latency (ms)':<44}{'':>10}" + "".join(f"{c:>10}" for c in cols)]
    for name, row in stats.endpoints.items():
        for tag, pct in (("raw", row.raw), ("corrected", row.corrected)):
            if pct:
                lines.append(f"{name:<44}{tag:>10}" + "".join(f"{pct[c]:>10.3f}" for c in cols))
    return lines


def finish(plugin: TalonPlugin, *, duration_s: float) -> Outcome:
    """Judge the run and (with a report dir) write summary.json, hdr.json and latency.png."""
    s = plugin.settings
    stats = run_stats(plugin.recorder, duration_s)
    verdicts = evaluate(s.slo, stats)
    trustworthy, cpu = plugin.cpu_verdict()
    files: list[Path] = []
    log = logging.getLogger("talon-harness")
    if not trustworthy:
        log.warning("load generator CPU saturated: results are not trustworthy")
    for line in _table(stats):
        log.info(line)
    for v in breached(verdicts):
        log.warning(v.describe())
    if s.report_dir is not None:
        s.report_dir.mkdir(parents=True, exist_ok=True)
        settings = {
            "rate": s.rate,
            "arrival": s.arrival,
            "connections": s.connections,
            "late_ms": s.late_ms,
            "validate_share": s.validate_share,
            "weights": s.weights,
            "seed": s.seed,
            "think_scale": s.think_scale,
            "max_rate": s.max_rate,
            "slo": s.slo.to_mapping(),
        }
        doc = summary(
            stats,
            verdicts,
            recorder=plugin.recorder,
            settings=settings,
            trustworthy=trustworthy,
            cpu=cpu,
            failures=_failures(plugin),
        )
        hdr = s.report_dir / HDR_FILE
        hdr.write_text(json.dumps(_hdr_dump(plugin.recorder)), encoding="utf-8")
        files.append(hdr)
        try:
            files += write_plots(plugin.recorder, s.report_dir / PLOT_FILE, doc, target=plugin.environment.host,
                                 users=None if s.rate else getattr(plugin.environment.parsed_options, "num_users", None))
        except Exception as exc:  # noqa: BLE001 - a plot must never lose the summary
            doc["warnings"].append(f"plot failed: {type(exc).__name__}: {exc}")
        summary_path = s.report_dir / SUMMARY_FILE
        doc["files"] = [p.name for p in files] + [SUMMARY_FILE]
        summary_path.write_text(json.dumps(doc, indent=2, allow_nan=False, default=str), encoding="utf-8")
        files.append(summary_path)
    return Outcome(
        passed=not breached(verdicts), verdicts=verdicts, trustworthy=trustworthy, files=tuple(files)
    )
