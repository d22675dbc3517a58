"""HDR latency recorder: microsecond histograms per endpoint and overall, mergeable across workers.

Guarantees:
- every recorded latency lands in an HdrHistogram with 3 significant digits over 1 us .. 1 h, so any
  reported percentile is within 0.1% of the recorded value it stands for (stock Locust rounds to
  whole milliseconds);
- per endpoint, two histograms are kept (the overall one is their exact sum, built when read): ``raw`` (service time, as Locust measured it from the actual send) and
  ``corrected`` (measured from the *intended* start; only filled in open-workload mode);
- ``drain()`` on a worker returns a JSON-safe delta and resets it; ``merge()`` on the master adds a
  delta in, so merged percentiles come from merged histograms, never from averaged percentiles;
- requests still unanswered when the run ended are kept apart (row name and how long each had waited:
  ``count_unanswered``), never in the histograms, and travel with ``drain()`` / ``merge()``;
- the timeline keeps one coarse (2 significant digits) histogram plus counts per time window, for plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from talon_harness.loadtests._hdr import HIGHEST_US as _HIGHEST_US
from talon_harness.loadtests._hdr import LOWEST_US as _LOWEST_US
from talon_harness.loadtests._hdr import new_histogram
from talon_harness.loadtests._hdr import record as _record
from talon_harness.loadtests.gates import OVERALL_SCOPE, EndpointStats, RunStats

__all__ = ["OVERALL", "PERCENTILES", "Counts", "LatencyRecorder", "percentiles_ms"]

OVERALL = "Aggregated"
PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9, 100.0)
_DIGITS = 3
_TIMELINE_DIGITS = 2


def _new(digits: int = _DIGITS) -> HdrHistogram:
    return new_histogram(digits)


def _to_us(ms: float) -> int:
    us: int = round(ms * 1000.0)
    return min(_HIGHEST_US, max(_LOWEST_US, us))


def percentiles_ms(hist: HdrHistogram) -> dict[str, float] | None:
    """p50/p90/p95/p99/p99.9/max (keys "p50".."p99.9", "max") in ms, or None for an empty histogram."""
    if hist.get_total_count() == 0:
        return None
    values = hist.get_percentile_to_value_dict(list(PERCENTILES[:-1]))  # one pass over the counts
    out = {_label(p): values[p] / 1000.0 for p in PERCENTILES[:-1]}
    out["max"] = hist.get_max_value() / 1000.0
    out["min"] = hist.get_min_value() / 1000.0
    out["mean"] = round(hist.get_mean_value() / 1000.0, 3)
    return out


def _label(p: float) -> str:
    return "p" + (str(int(p)) if p == int(p) else str(p))


@dataclass
class Counts:
    """Request/failure counters of one endpoint (or of everything)."""

    requests: int = 0
    failures: int = 0


@dataclass
class _Window:
    hist: HdrHistogram = field(default_factory=lambda: _new(_TIMELINE_DIGITS))
    corrected: HdrHistogram = field(default_factory=lambda: _new(_TIMELINE_DIGITS))
    requests: int = 0
    failures: int = 0


class LatencyRecorder:
    """Collects latencies (ms in, us stored) keyed by request name; see the module docstring."""

    def __init__(self, *, window_s: float = 1.0) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s!r}")
        self.window_s = window_s
        self._reset()

    def _reset(self) -> None:
        self.raw: dict[str, HdrHistogram] = {}
        self.corrected: dict[str, HdrHistogram] = {}
        self.counts: dict[str, Counts] = {}
        self.timeline: dict[int, _Window] = {}
        self.arrivals = {"intended": 0, "late": 0, "dropped": 0}
        self.unanswered: dict[str, list[float]] = {}
        self.first_t: float | None = None
        self.last_t: float | None = None

    # -- recording ---------------------------------------------------------------------------
    def record(
        self, name: str, response_time_ms: float, *, failed: bool, at: float, lateness_ms: float | None = None
    ) -> None:
        """Record one request finished at epoch time ``at``; ``lateness_ms`` (open mode) = actual - intended start."""
        us = int(response_time_ms * 1000.0 + 0.5)
        us = _LOWEST_US if us < _LOWEST_US else _HIGHEST_US if us > _HIGHEST_US else us  # noqa: FURB136 - hot path, no calls
        h = self.raw.get(name)
        if h is None:
            h = self.raw[name] = _new()
        _record(h, us)  # the overall histogram is their sum, built on read
        index = int(at // self.window_s)
        w = self.timeline.get(index)
        if w is None:
            w = self.timeline[index] = _Window()
        _record(w.hist, us)
        if lateness_ms is not None:
            corrected_us = _to_us(response_time_ms + max(0.0, lateness_ms))
            _record(self._hist(self.corrected, name), corrected_us)
            _record(w.corrected, corrected_us)
        c = self.counts.get(name)
        if c is None:
            c = self.counts[name] = Counts()
        c.requests += 1
        w.requests += 1
        if failed:
            c.failures += 1
            w.failures += 1
        if self.first_t is None or at < self.first_t:
            self.first_t = at
        if self.last_t is None or at > self.last_t:
            self.last_t = at

    def count_arrival(self, *, dropped: bool = False) -> None:
        """Open mode: one arrival reached its intended time; ``dropped`` = no room to start it."""
        self.arrivals["intended"] += 1
        self.arrivals["dropped"] += dropped

    def count_late(self) -> None:
        """Open mode: an arrival's first request started later than the lateness threshold."""
        self.arrivals["late"] += 1

    def count_unanswered(self, name: str, waited_ms: float) -> None:
        """A request of row ``name`` was still unanswered after ``waited_ms`` when the run ended."""
        self.unanswered.setdefault(name, []).append(waited_ms)

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        exception: Any,
        start_time: float | None = None,
        context: dict | None = None,
        **_: Any,
    ) -> None:
        """Listener for Locust's ``events.request``; names rows "<METHOD> <name>" like Locust does."""
        if response_time is None:
            return
        lateness = context.get("talon_lateness_ms") if context else None
        at = (start_time or 0.0) + response_time / 1000.0
        self.record(
            f"{request_type} {name}", response_time, failed=exception is not None, at=at, lateness_ms=lateness
        )

    def _window(self, index: int) -> _Window:
        w = self.timeline.get(index)
        if w is None:
            w = self.timeline[index] = _Window()
        return w

    @staticmethod
    def _hist(table: dict[str, HdrHistogram], key: str) -> HdrHistogram:
        h = table.get(key)
        if h is None:
            h = table[key] = _new()
        return h

    # -- worker -> master --------------------------------------------------------------------
    def drain(self) -> dict[str, Any]:
        """Return everything recorded since the last drain as JSON-safe data, then reset."""
        data = {
            "raw": {k: h.encode().decode() for k, h in self.raw.items() if h.get_total_count()},
            "corrected": {k: h.encode().decode() for k, h in self.corrected.items() if h.get_total_count()},
            "counts": {k: [c.requests, c.failures] for k, c in self.counts.items()},
            "timeline": {
                str(i): [
                    w.hist.encode().decode() if w.hist.get_total_count() else "",
                    w.corrected.encode().decode() if w.corrected.get_total_count() else "",
                    w.requests,
                    w.failures,
                ]
                for i, w in self.timeline.items()
            },
            "arrivals": dict(self.arrivals),
            "unanswered": {k: list(v) for k, v in self.unanswered.items()},
            "span": [self.first_t, self.last_t],
            "window_s": self.window_s,
        }
        self._reset()
        return data

    def merge(self, data: dict[str, Any]) -> None:
        """Add a ``drain()`` result (from any node) into this recorder."""
        for table, key in ((self.raw, "raw"), (self.corrected, "corrected")):
            for name, enc in data[key].items():
                self._hist(table, name).decode_and_add(enc.encode())
        for name, (req, fail) in data["counts"].items():
            c = self.counts.get(name) or self.counts.setdefault(name, Counts())
            c.requests += req
            c.failures += fail
        scale = data["window_s"] / self.window_s
        for i, (enc, enc_c, req, fail) in data["timeline"].items():
            w = self._window(int(int(i) * scale))
            if enc:
                w.hist.decode_and_add(enc.encode())
            if enc_c:
                w.corrected.decode_and_add(enc_c.encode())
            w.requests += req
            w.failures += fail
        for k, v in data["arrivals"].items():
            self.arrivals[k] += v
        for name, waits in data.get("unanswered", {}).items():
            self.unanswered.setdefault(name, []).extend(waits)
        lo, hi = data["span"]
        if lo is not None:
            self.first_t = lo if self.first_t is None else min(self.first_t, lo)
            self.last_t = hi if self.last_t is None else max(self.last_t, hi)

    # -- reading -----------------------------------------------------------------------------
    def histogram(self, name: str, *, corrected: bool = False) -> HdrHistogram | None:
        """The histogram of ``name`` (OVERALL = the sum of all endpoints), None if nothing was recorded."""
        table = self.corrected if corrected else self.raw
        if name != OVERALL:
            return table.get(name)
        if not table:
            return None
        total = _new()
        for h in table.values():
            total.add(h)
        return total

    def endpoints(self) -> list[str]:
        """Names with at least one request, endpoints sorted, overall last."""
        names = sorted(k for k, c in self.counts.items() if c.requests)
        return [*names, OVERALL] if names else []

    def totals(self, name: str) -> Counts:
        """Requests and failures of ``name``; OVERALL sums every endpoint."""
        if name != OVERALL:
            return self.counts.get(name, Counts())
        return Counts(
            sum(c.requests for c in self.counts.values()), sum(c.failures for c in self.counts.values())
        )

    def span_s(self) -> float:
        """Seconds between the first and the last recorded response (0 when fewer than two)."""
        if self.first_t is None or self.last_t is None:
            return 0.0
        return max(0.0, self.last_t - self.first_t)

    def run_stats(self, duration_s: float) -> RunStats:
        """Gate input: one row per endpoint plus the sum under "overall" (gates.OVERALL_SCOPE)."""
        rows = {}
        every = tuple(ms for waits in self.unanswered.values() for ms in waits)
        for name in self.endpoints():
            c = self.totals(name)
            raw = self.histogram(name)
            corrected = self.histogram(name, corrected=True)
            rows[OVERALL_SCOPE if name == OVERALL else name] = EndpointStats(
                name=name,
                requests=c.requests,
                failures=c.failures,
                raw=percentiles_ms(raw) if raw is not None else None,
                corrected=percentiles_ms(corrected) if corrected is not None else None,
                unanswered_ms=every if name == OVERALL else tuple(self.unanswered.get(name, ())),
            )
        a = self.arrivals
        return RunStats(
            endpoints=rows,
            duration_s=duration_s,
            intended_arrivals=a["intended"],
            dropped_arrivals=a["dropped"],
        )

    def timeline_rows(self) -> list[dict[str, Any]]:
        """One row per window: t (s from the first window), rps, fail rps, p50/p95/p99 raw and corrected (ms)."""
        if not self.timeline:
            return []
        first = min(self.timeline)
        rows = []
        for i in range(first, max(self.timeline) + 1):
            w = self.timeline.get(i, _Window())
            row: dict[str, Any] = {
                "t": (i - first) * self.window_s,
                "rps": w.requests / self.window_s,
                "fail_rps": w.failures / self.window_s,
            }
            for tag, h in (("raw", w.hist), ("corrected", w.corrected)):
                values = h.get_percentile_to_value_dict([50.0, 95.0, 99.0]) if h.get_total_count() else {}
                for p in (50.0, 95.0, 99.0):
                    row[f"{tag}_{_label(p)}"] = values[p] / 1000.0 if values else math.nan
            rows.append(row)
        return rows
