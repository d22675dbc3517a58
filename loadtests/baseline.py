"""Regression gates against a baseline run: each endpoint's HDR histograms now vs a previous run's.

A baseline is a previous run's report directory (its ``hdr.json``). Per endpoint row and per percentile
(p50, p95, p99, p99.9), the run regresses when the percentile is worse than the baseline's by more than
both margins (``gates.Margins``: relative AND absolute, the absolute one wider for p99.9; from the SLO
file's ``[baseline]`` section).
Judged on the CO-corrected histograms when both runs have them, else on raw service times. A
percentile p is compared only when both runs hold at least ``min_beyond`` requests beyond it; otherwise
the comparison says "too few requests" (a skip, not a pass). An endpoint of the baseline that the run did
not exercise is a breach ("no data"); a run in which no percentile could be compared at all is a breach.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from talon_harness.loadtests.gates import Margins

__all__ = ["BASELINE_PERCENTILES", "BaselineVerdict", "Histograms", "compare", "read_histograms"]

BASELINE_PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
)
_STATUSES = ("pass", "breach", "skip", "no data")


@dataclass(frozen=True)
class Histograms:
    """One run's histograms by endpoint row name: ``raw`` always, ``corrected`` in open mode."""

    raw: Mapping[str, HdrHistogram]
    corrected: Mapping[str, HdrHistogram]


@dataclass(frozen=True)
class BaselineVerdict:
    """One (endpoint, percentile) comparison; ``status`` one of "pass", "breach", "skip", "no data"."""

    scope: str
    percentile: str
    status: str
    observed_ms: float | None = None
    baseline_ms: float | None = None
    limit_ms: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}, got {self.status!r}")

    @property
    def passed(self) -> bool:
        """False for a regression or a comparison without data; a skip is not a failure."""
        return self.status in ("pass", "skip")

    def describe(self) -> str:
        head = f"{self.status.upper() if self.status != 'no data' else 'BREACH'} baseline {self.scope} {self.percentile}"
        if self.status in ("pass", "breach"):
            return (
                f"{head}: observed {self.observed_ms:.6g} ms vs baseline {self.baseline_ms:.6g} ms "
                f"(limit <= {self.limit_ms:.6g})"
            )
        return f"{head}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "text": self.describe()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BaselineVerdict:
        return cls(**{k: v for k, v in data.items() if k != "text"})


def read_histograms(directory: Path) -> Histograms:
    """The histograms in ``directory/hdr.json`` (as ``report.write`` wrote them); ValueError if unreadable."""
    path = Path(directory) / "hdr.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Histograms(
            {k: HdrHistogram.decode(v.encode()) for k, v in doc["raw"].items()},
            {k: HdrHistogram.decode(v.encode()) for k, v in doc["corrected"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"baseline {path}: cannot read the histograms: {type(exc).__name__}: {exc}"
        ) from None


def compare(now: Histograms, baseline: Histograms, margins: Margins) -> tuple[BaselineVerdict, ...]:
    """Every (endpoint, percentile) comparison of ``now`` against ``baseline``; pure. See the module docstring."""
    out: list[BaselineVerdict] = []
    for scope in sorted(set(baseline.raw) | set(now.raw)):
        if scope not in now.raw or now.raw[scope].get_total_count() == 0:
            out.append(
                BaselineVerdict(
                    scope, "all", "no data", reason="no request completed (the baseline has some)"
                )
            )
            continue
        if scope not in baseline.raw:
            out.append(BaselineVerdict(scope, "all", "skip", reason="not in the baseline"))
            continue
        corrected = scope in now.corrected and scope in baseline.corrected
        cur = (now.corrected if corrected else now.raw)[scope]
        base = (baseline.corrected if corrected else baseline.raw)[scope]
        n_cur, n_base = cur.get_total_count(), base.get_total_count()
        for label, p in BASELINE_PERCENTILES:
            needed = _needed(p, margins.min_beyond)
            if min(n_cur, n_base) < needed:
                reason = f"too few requests ({n_cur} now, {n_base} in the baseline; {needed} needed)"
                out.append(BaselineVerdict(scope, label, "skip", reason=reason))
                continue
            observed = cur.get_value_at_percentile(p) / 1000.0
            before = base.get_value_at_percentile(p) / 1000.0
            limit = margins.limit_ms(before, label)
            out.append(
                BaselineVerdict(
                    scope, label, "pass" if observed <= limit else "breach", observed, before, limit
                )
            )
    if out and not any(v.status in ("pass", "breach") for v in out):
        out.append(
            BaselineVerdict("all", "all", "no data", reason="too few requests to compare any percentile")
        )
    return tuple(out)


def _needed(percentile: float, min_beyond: float) -> int:
    """Requests a run needs so that ``min_beyond`` of them lie beyond ``percentile``."""
    return math.ceil(round(min_beyond / (1.0 - percentile / 100.0), 6))
