"""Regression gates against a baseline run: each endpoint's HDR histograms now vs a previous run's.

A baseline is a previous run's report directory (its ``hdr.json``). Per endpoint row and per percentile
(p50, p95, p99, p99.9), the run regresses when the percentile is worse than the baseline's by more than
both margins (``gates.Margins``: relative AND absolute, the absolute one wider for p99.9; from the SLO
file's ``[baseline]`` section).
Judged on the CO-corrected histograms when both runs have them, else on raw service times. A
percentile p is compared only when both runs hold at least ``min_beyond`` requests beyond it; otherwise
the comparison says "too few requests" (a skip, not a pass). An endpoint of the baseline that the run did
not exercise is a breach ("no data"). A run in which no tail percentile (:data:`TAIL_PERCENTILES`) could be
compared gets one "unjudged" verdict: the comparison measured nothing it was asked for (a 1-in-400 stall
cannot show in the median), and ``load`` exits 2. :func:`unjudged` counts the skipped gates and says what
duration or rate would judge them; :func:`too_small` is ``--baseline-update``'s warning when the recording
cannot judge the SLOs' percentiles.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from talon_harness.loadtests.gates import Margins, SloSet

__all__ = [
    "BASELINE_PERCENTILES",
    "TAIL_PERCENTILES",
    "BaselineVerdict",
    "Histograms",
    "Need",
    "Unjudged",
    "compare",
    "nothing_measured",
    "read_gaps",
    "read_histograms",
    "too_small",
    "unjudged",
]

BASELINE_PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
)
TAIL_PERCENTILES = ("p95", "p99", "p99.9")  # a comparison that judged none of these measured nothing
_STATUSES = ("pass", "breach", "skip", "no data", "unjudged")
_SLO_PERCENTILES = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99", "p999_ms": "p99.9"}


@dataclass(frozen=True)
class Histograms:
    """One run's histograms by endpoint row name: ``raw`` always, ``corrected`` in open mode."""

    raw: Mapping[str, HdrHistogram]
    corrected: Mapping[str, HdrHistogram]


@dataclass(frozen=True)
class BaselineVerdict:
    """One (endpoint, percentile) comparison; ``status`` one of "pass", "breach", "skip", "no data", or
    "unjudged" (the one verdict saying no tail percentile was compared). A skip for too few requests
    carries the counts: ``now_count`` and ``baseline_count`` requests, ``needed`` in both."""

    scope: str
    percentile: str
    status: str
    observed_ms: float | None = None
    baseline_ms: float | None = None
    limit_ms: float | None = None
    reason: str = ""
    now_count: int | None = None
    baseline_count: int | None = None
    needed: int | None = None

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {_STATUSES}, got {self.status!r}")

    @property
    def passed(self) -> bool:
        """False for a regression, a comparison without data, or no tail compared; a skip is no failure."""
        return self.status in ("pass", "skip")

    def describe(self) -> str:
        head = f"{'BREACH' if self.status == 'no data' else self.status.upper()} baseline {self.scope} {self.percentile}"
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
                out.append(BaselineVerdict(scope, label, "skip", reason=reason, now_count=n_cur,
                                           baseline_count=n_base, needed=needed))
                continue
            observed = cur.get_value_at_percentile(p) / 1000.0
            before = base.get_value_at_percentile(p) / 1000.0
            limit = margins.limit_ms(before, label)
            out.append(
                BaselineVerdict(
                    scope, label, "pass" if observed <= limit else "breach", observed, before, limit
                )
            )
    if out and not any(v.status in ("pass", "breach") and v.percentile in TAIL_PERCENTILES for v in out):
        tail = ", ".join(TAIL_PERCENTILES)
        out.append(BaselineVerdict("all", "tail", "unjudged", reason=f"no tail percentile ({tail}) was compared"))
    return tuple(out)


def _needed(percentile: float, min_beyond: float) -> int:
    """Requests a run needs so that ``min_beyond`` of them lie beyond ``percentile``."""
    return math.ceil(round(min_beyond / (1.0 - percentile / 100.0), 6))


@dataclass(frozen=True)
class Need:
    """What one skipped percentile needs: ``requests`` per endpoint row in both runs; at this run's pace
    that is ``duration_s``, or ``rate_factor`` x its request rate; ``baseline_short``: the baseline holds
    fewer (a longer run alone cannot judge it)."""

    percentile: str
    requests: int
    duration_s: float
    rate_factor: float
    baseline_short: bool


@dataclass(frozen=True)
class Unjudged:
    """The baseline gates a run did not judge: ``skipped`` of ``gates`` (endpoint x percentile; the
    "unjudged" verdict itself is not a gate), ``tail_judged`` whether any tail percentile was compared,
    ``needs`` per percentile skipped for too few requests, ``absent`` rows not in the baseline."""

    skipped: int
    gates: int
    tail_judged: bool
    needs: tuple[Need, ...]
    absent: int = 0

    def describe(self) -> str:
        """One line: how many gates went unjudged, and the duration or rate that would judge each."""
        text = f"{self.skipped} of {self.gates} baseline gates not judged"
        if self.needs:
            first, *rest = self.needs
            text += (
                f" (too few requests): {first.percentile} needs {first.requests} requests per endpoint in both "
                f"runs (--duration {_duration(first.duration_s)} at this run's pace, or "
                f"{_times(first.rate_factor)}x its request rate)"
            )
            text += "".join(
                f", {n.percentile} {n.requests} ({_duration(n.duration_s)}, or {_times(n.rate_factor)}x)" for n in rest
            )
        if self.absent:
            text += f"; {self.absent} endpoint(s) not in the baseline"
        if any(n.baseline_short for n in self.needs):
            text += "; the baseline holds too few as well: record it again as long with --baseline-update"
        return text


def unjudged(verdicts: tuple[BaselineVerdict, ...], duration_s: float) -> Unjudged | None:
    """The gates of ``verdicts`` (a run of ``duration_s`` seconds) that were skipped; None when none was."""
    gates = [v for v in verdicts if v.status != "unjudged"]
    skipped = [v for v in gates if v.status == "skip"]
    if not skipped:
        return None
    needs = []
    for label, _ in BASELINE_PERCENTILES:
        short = [v for v in skipped if v.percentile == label and v.needed and v.now_count and v.baseline_count]
        if short:
            factor = max(v.needed / v.now_count for v in short if v.needed and v.now_count)
            needs.append(Need(label, max(v.needed or 0 for v in short), duration_s * factor, factor,
                              any((v.baseline_count or 0) < (v.needed or 0) for v in short)))
    tail = any(v.status in ("pass", "breach") and v.percentile in TAIL_PERCENTILES for v in gates)
    absent = sum(1 for v in skipped if v.needed is None)
    return Unjudged(len(skipped), len(gates), tail, tuple(needs), absent)


def nothing_measured(verdicts: tuple[BaselineVerdict, ...], duration_s: float) -> str | None:
    """The harness problem (exit 2) of a requested comparison that judged no tail percentile: the
    "unjudged" verdict's reason, then :func:`unjudged`'s count and advice; None when a tail was judged."""
    verdict = next((v for v in verdicts if v.status == "unjudged"), None)
    if verdict is None:
        return None
    gap = unjudged(verdicts, duration_s)
    return f"baseline: nothing measured: {verdict.reason}" + (f"; {gap.describe()}" if gap else "")


def read_gaps(summary: Mapping[str, Any]) -> tuple[str | None, Unjudged | None]:
    """(:func:`nothing_measured`, :func:`unjudged`) of a ``summary.json`` document, for its renderers."""
    verdicts = tuple(BaselineVerdict.from_dict(b) for b in summary.get("baseline") or ())
    duration_s = float(summary.get("duration_s") or 0.0)
    return nothing_measured(verdicts, duration_s), unjudged(verdicts, duration_s)


def too_small(recorded: Histograms, slos: SloSet) -> str | None:
    """``--baseline-update``'s warning when the recorded rows hold too few requests to compare the
    percentiles the SLOs ask for (their p50_ms .. p999_ms limits, derived ones included); else None."""
    asked = [label for label, _ in BASELINE_PERCENTILES
             if label in {_SLO_PERCENTILES.get(s.metric) for s in slos.effective()}]
    counts = {k: (recorded.corrected.get(k) or h).get_total_count() for k, h in recorded.raw.items()}
    counts = {k: n for k, n in counts.items() if n > 0}
    if not asked or not counts:
        return None
    row = min(counts, key=lambda k: counts[k])
    needed = {label: _needed(p, slos.margins.min_beyond) for label, p in BASELINE_PERCENTILES if label in asked}
    lacking = [label for label in asked if counts[row] < needed[label]]
    if not lacking:
        return None
    return (
        f"--baseline-update: the recorded baseline is too small to compare {', '.join(lacking)} (asked by the "
        f"SLOs): {row} holds {counts[row]} requests, {' / '.join(str(needed[p]) for p in lacking)} needed in "
        "each endpoint row; record a longer or faster run"
    )


def _times(factor: float) -> str:
    """A factor rounded up: 6.25 -> "6.3", 31.25 -> "32"."""
    return f"{math.ceil(factor)}" if factor >= 10 else f"{math.ceil(round(factor * 10, 6)) / 10:g}"


def _duration(seconds: float) -> str:
    """Whole seconds, rounded up, as --duration reads them: "52s", "4m17s", "1h2m3s"."""
    total = math.ceil(round(seconds, 6))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
