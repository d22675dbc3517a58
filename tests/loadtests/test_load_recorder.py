"""The HDR recorder: percentile accuracy against exact values, worker->master merge, corrected latency."""

from __future__ import annotations

import json
import math
import random

import pytest

from talon_harness.loadtests.recorder import OVERALL, LatencyRecorder, percentiles_ms


def _exact(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list (the definition HdrHistogram approximates)."""
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def _values(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)  # log-normal around 2 ms with a long tail, plus a few multi-second stalls
    values = [rng.lognormvariate(math.log(2.0), 0.8) for _ in range(n)]
    values += [rng.uniform(1000.0, 3000.0) for _ in range(n // 500)]
    return values


def test_percentiles_within_one_percent_of_exact_values() -> None:
    values = _values(20_000, seed=7)
    rec = LatencyRecorder()
    for i, v in enumerate(values):
        rec.record("PUT /x", v, failed=False, at=1000.0 + i / 1000)
    exact = sorted(values)
    got = percentiles_ms(rec.histogram(OVERALL))
    assert got is not None
    for label, p in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p99.9", 99.9)):
        want = _exact(exact, p)
        assert abs(got[label] - want) / want <= 0.01, (label, got[label], want)
    assert abs(got["max"] - exact[-1]) / exact[-1] <= 0.01


def test_sub_millisecond_values_keep_microsecond_resolution() -> None:
    rec = LatencyRecorder()
    for v in (0.123, 0.456, 0.789):
        rec.record("PUT /x", v, failed=False, at=0.0)
    got = percentiles_ms(rec.histogram("PUT /x"))
    assert got is not None and got["min"] == 0.123 and got["max"] == 0.789


def test_drained_worker_data_merges_to_the_same_histogram() -> None:
    values = _values(5_000, seed=3)
    single, master = LatencyRecorder(), LatencyRecorder()
    workers = [LatencyRecorder(), LatencyRecorder()]
    for i, v in enumerate(values):
        name = "PUT /a" if i % 3 else "PUT /b"
        single.record(name, v, failed=i % 50 == 0, at=100.0 + i / 100, lateness_ms=i % 7)
        workers[i % 2].record(name, v, failed=i % 50 == 0, at=100.0 + i / 100, lateness_ms=i % 7)
        if i % 1000 == 999:  # periodic reports, as Locust's report_to_master does
            for w in workers:
                master.merge(json.loads(json.dumps(w.drain())))
    for w in workers:
        master.merge(w.drain())
    for name in ("PUT /a", "PUT /b", OVERALL):
        assert percentiles_ms(master.histogram(name)) == percentiles_ms(single.histogram(name))
        assert percentiles_ms(master.histogram(name, corrected=True)) == percentiles_ms(
            single.histogram(name, corrected=True)
        )
        assert master.totals(name) == single.totals(name)
    assert sum(r["rps"] for r in master.timeline_rows()) == sum(r["rps"] for r in single.timeline_rows())
    assert workers[0].drain()["counts"] == {}  # a drain resets


def test_corrected_latency_adds_lateness_and_closed_mode_has_none() -> None:
    rec = LatencyRecorder()
    rec.record("PUT /x", 2.0, failed=False, at=0.0)
    assert "PUT /x" not in rec.corrected
    rec.record("PUT /y", 2.0, failed=False, at=0.0, lateness_ms=498.0)
    got = percentiles_ms(rec.histogram("PUT /y", corrected=True))
    assert got is not None and abs(got["max"] - 500.0) <= 0.5


def test_arrival_counters_and_timeline_windows() -> None:
    rec = LatencyRecorder(window_s=2.0)
    rec.count_arrival()
    rec.count_arrival()
    rec.count_late()
    rec.count_arrival(dropped=True)
    for t in (10.0, 10.5, 13.9):
        rec.record("PUT /x", 1.0, failed=t > 13, at=t)
    assert rec.arrivals == {"intended": 3, "late": 1, "dropped": 1}
    rows = rec.timeline_rows()
    assert [r["t"] for r in rows] == [0.0, 2.0]
    assert [r["rps"] for r in rows] == [1.0, 0.5] and rows[1]["fail_rps"] == 0.5
    assert rec.span_s() == pytest.approx(3.9)


def test_unanswered_requests_stay_out_of_the_histograms_and_travel_to_the_master() -> None:
    worker = LatencyRecorder()
    worker.record("PUT a", 2.0, failed=False, at=100.0)
    worker.count_unanswered("PUT a", 2500.0)
    worker.count_unanswered("PUT b", 12.0)
    master = LatencyRecorder()
    master.merge(worker.drain())
    assert worker.unanswered == {}  # drained
    rows = master.run_stats(5.0).endpoints
    assert master.totals(OVERALL).requests == 1 and master.histogram(OVERALL).get_total_count() == 1
    assert rows["PUT a"].unanswered_ms == (2500.0,)
    assert rows["overall"].unanswered_ms == (2500.0, 12.0)
    assert "PUT b" not in rows  # no request of it completed: it is counted in overall only
