"""SLO gates: thresholds as data, and one pure function from run statistics to verdicts.

An SLO is (scope, metric, limit): scope is an endpoint row name (e.g. "PUT /v1/customer_sessions/[id]")
or "overall". Metrics:
  p50_ms, p95_ms, p99_ms  upper limits on latency (the CO-corrected histogram when the run has one, else raw);
  p999_ms, max_ms       upper limits on the tail (p99.9, the slowest request); where a scope has a p99_ms
                        limit and does not set these, they are derived from it: TAIL_FACTORS x p99_ms;
  error_ratio           upper limit on failures / requests;
  min_rate              lower limit on achieved requests per second;
  max_dropped_ratio     upper limit on dropped / intended arrivals (open mode; 0 in closed mode);
  unanswered            upper limit on requests still unanswered when the run ended that had waited longer
                        than the scope's max_ms limit (so their latency breaches it, whenever they end);
                        younger ones were merely cut off by the end of the run and are not counted.
Every verdict carries the observed number and the limit, so a breach names itself. A latency, rate or
error gate whose row completed no request is a breach named "no data", never a pass.

Trust: a run is ``trustworthy`` when at least :data:`MIN_REQUESTS` requests completed and the generator's
CPU did not saturate (:func:`cpu_trust`); :func:`trust` returns one typed :class:`Distrust` per cause, and
every report shows each cause's own :attr:`Distrust.label` (:func:`distrust_label`), never a text of its own.

File format (TOML, JSON or YAML, chosen by suffix)::

    [overall]
    p99_ms = 500
    error_ratio = 0.001
    [endpoints."PUT /v1/customer_sessions/[id]"]
    p95_ms = 150
    [baseline]            # margins for `load --baseline DIR` (see loadtests.baseline)
    relative = 0.5        # a percentile regresses when worse by more than 50% ...
    absolute_ms = 25      # ... and by more than 25 ms (p50, p95, p99)
    tail_absolute_ms = 500  # p99.9: ... and by more than 500 ms (the tail is noisy on a shared machine)
    min_beyond = 10       # compare percentile p only with >= 10 requests beyond it in both runs
"""

from __future__ import annotations

import enum
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "METRICS",
    "MIN_REQUESTS",
    "OVERALL_SCOPE",
    "TAIL_FACTORS",
    "Cause",
    "Distrust",
    "EndpointStats",
    "Margins",
    "RunStats",
    "Slo",
    "SloSet",
    "Verdict",
    "breached",
    "cpu_trust",
    "distrust_label",
    "evaluate",
    "trust",
]

OVERALL_SCOPE = "overall"
METRICS: dict[str, str] = {  # metric -> "max" (observed must be <= limit) or "min" (>= limit)
    "p50_ms": "max",
    "p95_ms": "max",
    "p99_ms": "max",
    "p999_ms": "max",
    "max_ms": "max",
    "error_ratio": "max",
    "min_rate": "min",
    "max_dropped_ratio": "max",
    "unanswered": "max",
}
_DEFAULTS = {
    "p95_ms": 250.0,
    "p99_ms": 500.0,
    "error_ratio": 0.001,
    "min_rate": 1.0,
    "max_dropped_ratio": 0.01,
    "unanswered": 0.0,
}


TAIL_FACTORS = {"p999_ms": 2.0, "max_ms": 4.0}  # derived tail limits, x the scope's p99_ms limit
_LATENCY_KEYS = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99", "p999_ms": "p99.9", "max_ms": "max"}
MIN_REQUESTS = 50  # fewer completed requests: a p95 rests on fewer than 3 samples above it
CPU_SATURATED_PERCENT = 90.0
SATURATED_SHARE = 0.1
NO_DATA = "no data (no request completed)"


@dataclass(frozen=True)
class Slo:
    """One threshold: ``scope`` (endpoint name or "overall"), ``metric`` (a key of METRICS), ``limit``."""

    scope: str
    metric: str
    limit: float

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown SLO metric {self.metric!r}; expected one of {sorted(METRICS)}")
        if not self.limit >= 0:
            raise ValueError(f"SLO {self.scope}.{self.metric}: limit must be >= 0, got {self.limit!r}")

    @property
    def name(self) -> str:
        return f"{self.scope}.{self.metric}"


@dataclass(frozen=True)
class Margins:
    """How much worse than a baseline a percentile may get: ``relative`` (0.5 = 50%) AND ``absolute_ms``
    (``tail_absolute_ms`` for p99.9) both exceeded is a regression; percentile p is compared only when
    both runs have at least ``min_beyond`` requests beyond it (n x (1 - p/100) >= min_beyond).

    The defaults come from bench/load_baseline.py: five clean runs against one clean baseline on a
    shared 2-core machine moved p99.9 by up to +270 ms, p50..p99 by far less."""

    relative: float = 0.5
    absolute_ms: float = 25.0
    tail_absolute_ms: float = 500.0
    min_beyond: float = 10.0

    def __post_init__(self) -> None:
        if not (
            self.relative >= 0
            and self.absolute_ms >= 0
            and self.tail_absolute_ms >= 0
            and self.min_beyond >= 1
        ):
            raise ValueError(f"baseline margins: all must be >= 0 and min_beyond >= 1, got {self}")

    def limit_ms(self, baseline_ms: float, percentile: str) -> float:
        """The largest value of ``percentile`` ("p50" .. "p99.9") that is not a regression of ``baseline_ms``."""
        absolute = self.tail_absolute_ms if percentile == "p99.9" else self.absolute_ms
        return max(baseline_ms * (1.0 + self.relative), baseline_ms + absolute)


@dataclass(frozen=True)
class SloSet:
    """An immutable set of SLOs; ``SloSet.default()`` suits a local run against the reference server."""

    slos: tuple[Slo, ...]
    margins: Margins = Margins()

    @classmethod
    def default(cls) -> SloSet:
        return cls(tuple(Slo(OVERALL_SCOPE, m, v) for m, v in _DEFAULTS.items()))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: SloSet | None = None) -> SloSet:
        """{"overall": {metric: limit}, "endpoints": {name: {metric: limit}}} layered over ``base``."""
        unknown = set(data) - {OVERALL_SCOPE, "endpoints", "baseline"}
        if unknown:
            raise ValueError(
                f"unknown SLO section(s) {sorted(unknown)}; expected 'overall', 'endpoints' and 'baseline'"
            )
        table = {(s.scope, s.metric): s.limit for s in (base.slos if base else ())}
        for metric, limit in (data.get(OVERALL_SCOPE) or {}).items():
            table[(OVERALL_SCOPE, metric)] = float(limit)
        for scope, metrics in (data.get("endpoints") or {}).items():
            for metric, limit in metrics.items():
                table[(scope, metric)] = float(limit)
        margins = base.margins if base else Margins()
        if data.get("baseline"):
            fields = set(Margins.__dataclass_fields__)
            if set(data["baseline"]) - fields:
                raise ValueError(
                    f"unknown baseline key(s) {sorted(set(data['baseline']) - fields)}; known: {sorted(fields)}"
                )
            margins = Margins(**{**vars(margins), **{k: float(v) for k, v in data["baseline"].items()}})
        return cls(tuple(Slo(scope, metric, limit) for (scope, metric), limit in table.items()), margins)

    @classmethod
    def from_file(cls, path: Path, *, base: SloSet | None = None) -> SloSet:
        """Read a .toml, .json, .yaml/.yml file; limits it does not name keep ``base`` (default: defaults)."""
        suffix = Path(path).suffix.lower()
        if suffix not in (".toml", ".json", ".yaml", ".yml"):
            raise ValueError(f"SLO file {path}: unsupported suffix {suffix!r} (use .toml, .json or .yaml)")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"SLO file {path}: cannot read it: {exc}") from None
        try:
            data = _parse(text, suffix)
        except ValueError as exc:
            flat = " ".join(str(exc).split())
            raise ValueError(f"SLO file {path}: malformed {suffix.lstrip('.').upper()}: {flat}") from None
        try:
            if not isinstance(data, Mapping):
                raise TypeError(f"expected a table of sections, got {type(data).__name__}")
            return cls.from_mapping(data, base=cls.default() if base is None else base)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"SLO file {path}: {exc}") from None

    def with_overall(self, **limits: float | None) -> SloSet:
        """Override overall limits from flags, e.g. ``with_overall(p99_ms=300)``; None means keep."""
        return SloSet.from_mapping(
            {OVERALL_SCOPE: {k: v for k, v in limits.items() if v is not None}}, base=self
        )

    def effective(self) -> tuple[Slo, ...]:
        """The SLOs judged: these, plus the tail limits derived from each p99_ms (TAIL_FACTORS)."""
        given = {(s.scope, s.metric) for s in self.slos}
        derived = tuple(
            Slo(s.scope, metric, s.limit * factor)
            for s in self.slos
            if s.metric == "p99_ms"
            for metric, factor in TAIL_FACTORS.items()
            if (s.scope, metric) not in given
        )
        return self.slos + derived

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {OVERALL_SCOPE: {}, "endpoints": {}}
        for s in self.slos:
            (out[OVERALL_SCOPE] if s.scope == OVERALL_SCOPE else out["endpoints"].setdefault(s.scope, {}))[
                s.metric
            ] = s.limit
        out["baseline"] = vars(self.margins).copy()
        return out


def _parse(text: str, suffix: str) -> Any:
    """The document in ``text``; every parse error is raised as a ValueError."""
    if suffix == ".toml":
        return tomllib.loads(text)  # TOMLDecodeError is a ValueError
    if suffix == ".json":
        return json.loads(text)  # JSONDecodeError is a ValueError
    import yaml

    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class EndpointStats:
    """What the gates need about one row: counts and latency percentiles (ms; corrected may be None)."""

    name: str
    requests: int
    failures: int
    raw: Mapping[str, float] | None
    corrected: Mapping[str, float] | None = None
    unanswered_ms: tuple[float, ...] = ()  # how long each request unanswered at the end had waited


@dataclass(frozen=True)
class RunStats:
    """Finished-run numbers: rows by name (the overall row under "overall"), duration, arrivals."""

    endpoints: Mapping[str, EndpointStats]
    duration_s: float
    intended_arrivals: int = 0
    dropped_arrivals: int = 0


@dataclass(frozen=True)
class Verdict:
    """The outcome of one SLO: ``observed`` is None when the row completed no request (a breach).
    ``wait_ms`` (metric "unanswered" only): the wait beyond which an unanswered request counted."""

    slo: Slo
    observed: float | None
    passed: bool
    wait_ms: float | None = None

    def describe(self) -> str:
        if self.observed is None:
            return f"BREACH {self.slo.name}: {NO_DATA}"
        op = "<=" if METRICS[self.slo.metric] == "max" else ">="
        obs = f"{self.observed:.6g}"
        head = f"{'PASS' if self.passed else 'BREACH'} {self.slo.name}:"
        if self.slo.metric == "unanswered":
            what = f"{obs} requests unanswered when the run ended, each waiting over {self.wait_ms or 0:g} ms"
        else:
            what = f"observed {obs}"
        return f"{head} {what} (limit {op} {self.slo.limit:g})"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """The verdict :meth:`to_dict` wrote."""
        slo = Slo(data["scope"], data["metric"], data["limit"])
        return cls(slo, data["observed"], data["passed"], data.get("wait_ms"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "slo": self.slo.name,
            "scope": self.slo.scope,
            "metric": self.slo.metric,
            "limit": self.slo.limit,
            "observed": self.observed,
            "passed": self.passed,
            "wait_ms": self.wait_ms,
            "text": self.describe(),
        }


def _observe(metric: str, row: EndpointStats | None, stats: RunStats, wait_ms: float) -> float | None:
    if metric == "max_dropped_ratio":
        return stats.dropped_arrivals / stats.intended_arrivals if stats.intended_arrivals else 0.0
    if row is None or row.requests == 0:
        return None
    if metric == "unanswered":
        return float(sum(1 for ms in row.unanswered_ms if ms > wait_ms))
    if metric == "error_ratio":
        return row.failures / row.requests
    if metric == "min_rate":
        return row.requests / stats.duration_s if stats.duration_s > 0 else 0.0
    latencies = row.corrected or row.raw
    return None if latencies is None else latencies[_LATENCY_KEYS[metric]]


def evaluate(slos: SloSet, stats: RunStats) -> tuple[Verdict, ...]:
    """Judge every SLO against ``stats``; pure, no I/O. Latency SLOs use corrected numbers when present."""
    verdicts = []
    effective = slos.effective()
    max_ms = {s.scope: s.limit for s in effective if s.metric == "max_ms"}
    for slo in effective:
        row = stats.endpoints.get(slo.scope)
        wait_ms = max_ms.get(slo.scope, max_ms.get(OVERALL_SCOPE, 0.0))
        observed = _observe(slo.metric, row, stats, wait_ms)
        if observed is None:
            passed = False
        elif METRICS[slo.metric] == "max":
            passed = observed <= slo.limit
        else:
            passed = observed >= slo.limit
        verdicts.append(Verdict(slo, observed, passed, wait_ms if slo.metric == "unanswered" else None))
    return tuple(verdicts)


def breached(verdicts: tuple[Verdict, ...]) -> tuple[Verdict, ...]:
    """The verdicts that failed, in SLO order."""
    return tuple(v for v in verdicts if not v.passed)


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


class Cause(enum.Enum):
    """Why a run is not trustworthy."""

    NO_REQUESTS = "no requests"
    TOO_FEW_REQUESTS = "too few requests"
    CPU_SATURATED = "generator CPU saturated"


@dataclass(frozen=True)
class Distrust:
    """One reason a run is untrustworthy, with its numbers: ``completed`` requests (the request causes),
    ``saturated_share`` of the CPU samples at >= :data:`CPU_SATURATED_PERCENT` (the CPU cause)."""

    cause: Cause
    completed: int = 0
    saturated_share: float = 0.0

    @property
    def label(self) -> str:
        """The short cause, as plot titles, the HTML run details and the CI summary show it."""
        if self.cause is Cause.NO_REQUESTS:
            return "no request completed"
        if self.cause is Cause.TOO_FEW_REQUESTS:
            return f"too few requests ({self.completed} completed, {MIN_REQUESTS} needed)"
        return (
            f"generator CPU saturated ({self.saturated_share:.0%} of the samples at >= "
            f"{CPU_SATURATED_PERCENT:g}% of a core)"
        )

    @property
    def warning(self) -> str:
        """The console / summary.json warning: the cause and what it means for the numbers."""
        if self.cause is Cause.NO_REQUESTS:
            return "no request completed: nothing was measured"
        if self.cause is Cause.TOO_FEW_REQUESTS:
            return (
                f"only {self.completed} requests completed (fewer than {MIN_REQUESTS}): percentiles are not "
                "trustworthy; run longer or with more load"
            )
        return f"{self.label}: latencies include generator queueing; add workers or lower the load"

    def to_dict(self) -> dict[str, Any]:
        return {"cause": self.cause.value, "completed": self.completed,
                "saturated_share": self.saturated_share, "label": self.label}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Distrust:
        """The reason :meth:`to_dict` wrote."""
        return cls(Cause(data["cause"]), int(data["completed"]), float(data["saturated_share"]))


def trust(stats: RunStats, *, cpu_ok: bool, saturated_share: float = 0.0) -> tuple[Distrust, ...]:
    """Why the run is not trustworthy (empty: it is): fewer than :data:`MIN_REQUESTS` completed requests,
    and/or a saturated generator CPU (``cpu_ok`` and ``saturated_share`` as :func:`cpu_trust` found them)."""
    reasons = []
    overall = stats.endpoints.get(OVERALL_SCOPE)
    completed = overall.requests if overall else 0
    if completed == 0:
        reasons.append(Distrust(Cause.NO_REQUESTS))
    elif completed < MIN_REQUESTS:
        reasons.append(Distrust(Cause.TOO_FEW_REQUESTS, completed=completed))
    if not cpu_ok:
        reasons.append(Distrust(Cause.CPU_SATURATED, saturated_share=saturated_share))
    return tuple(reasons)


def distrust_label(summary: Mapping[str, Any]) -> str | None:
    """None for a trustworthy run's ``summary.json``, else its causes' labels joined by "; " ("reason not
    recorded" for a summary written before the causes were)."""
    if summary.get("trustworthy", True) is not False:
        return None
    reasons: Sequence[Mapping[str, Any]] = summary.get("distrust") or ()
    return "; ".join(Distrust.from_dict(r).label for r in reasons) or "reason not recorded"
