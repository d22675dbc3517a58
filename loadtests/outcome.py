"""LoadOutcome: what one load run measured and how it was judged, as a frozen dataclass.

The Locust process builds it (:func:`build_outcome`) and writes it into ``summary.json``
(:meth:`LoadOutcome.to_dict`); ``run_load`` reads it back with :meth:`LoadOutcome.from_dict`, so both
sides of the process boundary hold the same typed object and a renderer reads fields, not string keys.
:func:`read_summary` is the one reader of the file (``run_load``, the HTML report, the step summary and the
replay console all go through it).
Latency percentiles are in ms, keyed "p50", "p90", "p95", "p99", "p99.9", "max", "min", "mean".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talon_harness.loadtests.baseline import BaselineVerdict
from talon_harness.loadtests.gates import OVERALL_SCOPE, Distrust, RunStats, Verdict, breached

__all__ = ["SUMMARY_FILE", "Arrivals", "EndpointResult", "FailureRow", "LoadOutcome", "build_outcome", "read_summary"]

#: The file in a load run's report directory that holds its outcome (written by ``loadtests.report.write``).
SUMMARY_FILE = "summary.json"


def read_summary(directory: Path | str) -> dict[str, Any]:
    """The ``summary.json`` document in ``directory``: :meth:`LoadOutcome.to_dict`'s keys plus the report-only
    ones (``baseline``, ``files``, ``replay``...). Raises OSError when the file cannot be read and ValueError
    when it is not a JSON object."""
    document = json.loads((Path(directory) / SUMMARY_FILE).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{Path(directory) / SUMMARY_FILE} is not a JSON object")  # noqa: TRY004 (a bad file)
    return document


@dataclass(frozen=True)
class EndpointResult:
    """One row (an endpoint, or "overall" for their sum): counts, rate, raw and corrected percentiles."""

    name: str
    requests: int
    failures: int
    rate_rps: float
    raw: Mapping[str, float] | None
    corrected: Mapping[str, float] | None

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Arrivals:
    """Open model: arrivals scheduled, started late (after ``late_threshold_ms``), dropped (pool full)."""

    intended: int = 0
    late: int = 0
    dropped: int = 0
    late_threshold_ms: float | None = None


@dataclass(frozen=True)
class FailureRow:
    """One of the most frequent failure messages, as Locust grouped them."""

    method: str
    name: str
    error: str
    occurrences: int


@dataclass(frozen=True)
class LoadOutcome:
    """See the module docstring. ``endpoints``: endpoints sorted by name, the overall row last."""

    mode: str  # "open", "closed" or "replay" (a recording, on its own schedule)
    duration_s: float
    endpoints: tuple[EndpointResult, ...]
    verdicts: tuple[Verdict, ...]
    trustworthy: bool
    warnings: tuple[str, ...]
    arrivals: Arrivals
    achieved_requests_per_s: float
    intended_arrivals_per_s: float | None = None
    achieved_arrivals_per_s: float | None = None
    max_requests_per_s: float | None = None
    failures: tuple[FailureRow, ...] = ()
    baseline: tuple[BaselineVerdict, ...] = ()  # empty unless the run was compared with a baseline
    distrust: tuple[Distrust, ...] = ()  # why the run is not trustworthy, one typed cause each

    @property
    def passed(self) -> bool:
        """Every SLO held and nothing regressed against the baseline (a gate without data does not hold)."""
        return not breached(self.verdicts) and all(b.passed for b in self.baseline)

    @property
    def breaches(self) -> tuple[str, ...]:
        slo = tuple(v.describe() for v in breached(self.verdicts))
        return slo + tuple(b.describe() for b in self.baseline if not b.passed)

    @property
    def overall(self) -> EndpointResult | None:
        return next((e for e in self.endpoints if e.name == OVERALL_SCOPE), None)

    @property
    def completed(self) -> int:
        """Requests that completed (answered or failed with a recorded response time), all endpoints."""
        overall = self.overall
        return overall.requests if overall else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; the layout of ``summary.json`` (which adds report-only keys beside these)."""
        d = self.duration_s
        return {
            "passed": self.passed,
            "breaches": list(self.breaches),
            "trustworthy": self.trustworthy,
            "warnings": list(self.warnings),
            "distrust": [r.to_dict() for r in self.distrust],
            "mode": self.mode,
            "duration_s": round(d, 3),
            "endpoints": {
                e.name: {
                    "requests": e.requests,
                    "failures": e.failures,
                    "error_ratio": e.error_ratio,
                    "rate_rps": e.rate_rps,
                    "latency_ms": {"raw": e.raw, "corrected": e.corrected},
                }
                for e in self.endpoints
            },
            "rate": {
                "intended_arrivals_per_s": self.intended_arrivals_per_s,
                "achieved_arrivals_per_s": self.achieved_arrivals_per_s,
                "achieved_requests_per_s": self.achieved_requests_per_s,
                "max_requests_per_s": self.max_requests_per_s,
            },
            "arrivals": {
                "intended": self.arrivals.intended,
                "late": self.arrivals.late,
                "dropped": self.arrivals.dropped,
                "late_ratio": self.arrivals.late / self.arrivals.intended if self.arrivals.intended else 0.0,
                "dropped_ratio": self.arrivals.dropped / self.arrivals.intended
                if self.arrivals.intended
                else 0.0,
                "late_threshold_ms": self.arrivals.late_threshold_ms,
            },
            "slo": [v.to_dict() for v in self.verdicts],
            "baseline": [b.to_dict() for b in self.baseline],
            "failures": [vars(f) for f in self.failures],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> LoadOutcome:
        """The outcome :meth:`to_dict` wrote (extra keys are ignored)."""
        a, r = doc["arrivals"], doc["rate"]
        return cls(
            mode=doc["mode"],
            duration_s=doc["duration_s"],
            endpoints=tuple(
                EndpointResult(
                    name,
                    row["requests"],
                    row["failures"],
                    row["rate_rps"],
                    row["latency_ms"]["raw"],
                    row["latency_ms"]["corrected"],
                )
                for name, row in doc["endpoints"].items()
            ),
            verdicts=tuple(Verdict.from_dict(v) for v in doc["slo"]),
            trustworthy=doc["trustworthy"],
            warnings=tuple(doc["warnings"]),
            arrivals=Arrivals(a["intended"], a["late"], a["dropped"], a["late_threshold_ms"]),
            achieved_requests_per_s=r["achieved_requests_per_s"],
            intended_arrivals_per_s=r["intended_arrivals_per_s"],
            achieved_arrivals_per_s=r["achieved_arrivals_per_s"],
            max_requests_per_s=r["max_requests_per_s"],
            failures=tuple(FailureRow(**f) for f in doc["failures"]),
            baseline=tuple(BaselineVerdict.from_dict(b) for b in doc["baseline"]),
            distrust=tuple(Distrust.from_dict(r) for r in doc.get("distrust") or ()),
        )


def build_outcome(
    stats: RunStats,
    verdicts: tuple[Verdict, ...],
    *,
    trustworthy: bool,
    warnings: tuple[str, ...],
    late: int,
    late_threshold_ms: float,
    rate: float | None,
    max_rate: float | None,
    replay: bool = False,
    failures: tuple[FailureRow, ...] = (),
    baseline: tuple[BaselineVerdict, ...] = (),
    distrust: tuple[Distrust, ...] = (),
) -> LoadOutcome:
    """The outcome of a judged run (pure): rates from the counts and the duration."""
    d = stats.duration_s
    per_s = (lambda n: n / d) if d > 0 else (lambda n: 0.0)
    rows = tuple(
        EndpointResult(name, row.requests, row.failures, per_s(row.requests), row.raw, row.corrected)
        for name, row in sorted(stats.endpoints.items(), key=lambda kv: (kv[0] == OVERALL_SCOPE, kv[0]))
    )
    overall = stats.endpoints.get(OVERALL_SCOPE)
    return LoadOutcome(
        mode="replay" if replay else "open" if rate else "closed",
        duration_s=d,
        endpoints=rows,
        verdicts=verdicts,
        trustworthy=trustworthy,
        warnings=warnings,
        arrivals=Arrivals(stats.intended_arrivals, late, stats.dropped_arrivals, late_threshold_ms),
        achieved_requests_per_s=per_s(overall.requests) if overall else 0.0,
        intended_arrivals_per_s=rate,
        achieved_arrivals_per_s=per_s(stats.intended_arrivals - stats.dropped_arrivals) if rate else None,
        max_requests_per_s=max_rate,
        failures=failures,
        baseline=baseline,
        distrust=distrust,
    )
