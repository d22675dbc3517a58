"""SLO gates: defaults, files, flags and the pure verdict function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talon_harness.loadtests.gates import (
    MIN_REQUESTS,
    Cause,
    Distrust,
    EndpointStats,
    RunStats,
    Slo,
    SloSet,
    Verdict,
    breached,
    cpu_trust,
    distrust_label,
    evaluate,
    trust,
)

SESSION = "PUT /v1/customer_sessions/[id]"


def _stats(
    *, p95: float = 5.0, p99: float = 10.0, failures: int = 0, corrected: dict | None = None, dropped: int = 0
) -> RunStats:
    raw = {"p50": 1.0, "p95": p95, "p99": p99, "p99.9": p99 * 1.5, "max": p99 * 2}
    row = EndpointStats("Aggregated", requests=1000, failures=failures, raw=raw, corrected=corrected)
    return RunStats(
        endpoints={"overall": row, SESSION: EndpointStats(SESSION, 600, failures, raw)},
        duration_s=10.0,
        intended_arrivals=400 if dropped else 0,
        dropped_arrivals=dropped,
    )


def test_defaults_pass_a_healthy_local_run() -> None:
    verdicts = evaluate(SloSet.default(), _stats())
    assert {v.slo.name for v in verdicts} == {
        "overall.p95_ms",
        "overall.p99_ms",
        "overall.error_ratio",
        "overall.min_rate",
        "overall.max_dropped_ratio",
        "overall.unanswered",
        "overall.p999_ms",
        "overall.max_ms",
    }
    assert not breached(verdicts)


def test_default_tail_limits_derive_from_p99_and_catch_a_rare_stall() -> None:
    limits = {v.slo.name: v.slo.limit for v in evaluate(SloSet.default(), _stats())}
    assert (limits["overall.p999_ms"], limits["overall.max_ms"]) == (1000.0, 2000.0)  # 2x and 4x p99 500
    tighter = {s.name: s.limit for s in SloSet.default().with_overall(p99_ms=100.0).effective()}
    assert (tighter["overall.p999_ms"], tighter["overall.max_ms"]) == (200.0, 400.0)
    explicit = {s.name: s.limit for s in SloSet.default().with_overall(max_ms=9000.0).effective()}
    assert explicit["overall.max_ms"] == 9000.0
    # a 1-in-400 stall of 1.5 s: p99 stays low, p99.9 and max do not
    stall = {"p50": 2.0, "p95": 5.0, "p99": 9.0, "p99.9": 1500.0, "max": 1510.0}
    row = EndpointStats("Aggregated", 4000, 0, stall)
    bad = breached(evaluate(SloSet.default(), RunStats({"overall": row}, duration_s=10.0)))
    assert [v.describe() for v in bad] == ["BREACH overall.p999_ms: observed 1500 (limit <= 1000)"]


def test_breaches_name_the_slo_and_carry_the_numbers() -> None:
    slos = SloSet.from_mapping(
        {"overall": {"p99_ms": 50}, "endpoints": {SESSION: {"error_ratio": 0.001}}}, base=SloSet.default()
    )
    bad = breached(evaluate(slos, _stats(p99=80.0, failures=20)))
    texts = [v.describe() for v in bad]
    assert "BREACH overall.p99_ms: observed 80 (limit <= 50)" in texts
    assert f"BREACH {SESSION}.error_ratio: observed 0.0333333 (limit <= 0.001)" in texts
    # p99.9 = 120 also exceeds the tail limit derived from p99_ms = 50 (2 x 50)
    assert {v.slo.name for v in bad} == {
        "overall.p99_ms",
        "overall.p999_ms",
        "overall.error_ratio",
        f"{SESSION}.error_ratio",
    }


def test_corrected_latency_is_judged_when_present() -> None:
    corrected = {"p95": 900.0, "p99": 1900.0, "p99.9": 1950.0, "max": 1990.0}
    verdicts = evaluate(SloSet.default(), _stats(corrected=corrected))
    assert {v.slo.name: v.observed for v in breached(verdicts)} == {
        "overall.p95_ms": 900.0,
        "overall.p99_ms": 1900.0,
        "overall.p999_ms": 1950.0,
    }


def test_min_rate_and_dropped_ratio() -> None:
    slos = SloSet.default().with_overall(min_rate=500.0)
    names = {v.slo.name for v in breached(evaluate(slos, _stats(dropped=40)))}
    assert names == {"overall.min_rate", "overall.max_dropped_ratio"}


def test_a_gate_without_data_is_a_breach_named_no_data() -> None:
    slos = SloSet((Slo("PUT /nothing", "p95_ms", 1.0),))
    (v,) = evaluate(slos, _stats())
    assert not v.passed and v.observed is None
    assert v.describe() == "BREACH PUT /nothing.p95_ms: no data (no request completed)"
    empty = RunStats(endpoints={}, duration_s=5.0)
    texts = [v.describe() for v in evaluate(SloSet.default(), empty)]
    assert texts == [
        "BREACH overall.p95_ms: no data (no request completed)",
        "BREACH overall.p99_ms: no data (no request completed)",
        "BREACH overall.error_ratio: no data (no request completed)",
        "BREACH overall.min_rate: no data (no request completed)",
        "PASS overall.max_dropped_ratio: observed 0 (limit <= 0.01)",
        "BREACH overall.unanswered: no data (no request completed)",
        "BREACH overall.p999_ms: no data (no request completed)",
        "BREACH overall.max_ms: no data (no request completed)",
    ]
    assert not any("n/a" in t for t in texts)


def test_trust_needs_a_minimum_of_completed_requests() -> None:
    def stats(n: int) -> RunStats:
        return RunStats(
            endpoints={"overall": EndpointStats("Aggregated", n, 0, {"p95": 1.0})}, duration_s=5.0
        )

    assert trust(stats(MIN_REQUESTS), cpu_ok=True) == ()
    (few,) = trust(stats(MIN_REQUESTS - 1), cpu_ok=True)
    assert few == Distrust(Cause.TOO_FEW_REQUESTS, completed=MIN_REQUESTS - 1)
    assert few.warning == (
        f"only {MIN_REQUESTS - 1} requests completed (fewer than {MIN_REQUESTS}): percentiles are not "
        "trustworthy; run longer or with more load"
    )
    assert few.label == f"too few requests ({MIN_REQUESTS - 1} completed, {MIN_REQUESTS} needed)"
    (none,) = trust(RunStats(endpoints={}, duration_s=5.0), cpu_ok=True)
    assert (none.cause, none.label, none.warning) == (
        Cause.NO_REQUESTS, "no request completed", "no request completed: nothing was measured"
    )
    (cpu,) = trust(stats(1000), cpu_ok=False, saturated_share=0.25)
    assert cpu.label == "generator CPU saturated (25% of the samples at >= 90% of a core)"
    assert cpu.warning == (
        "generator CPU saturated (25% of the samples at >= 90% of a core): latencies include generator "
        "queueing; add workers or lower the load"
    )
    both = trust(stats(31), cpu_ok=False, saturated_share=0.5)
    assert [r.cause for r in both] == [Cause.TOO_FEW_REQUESTS, Cause.CPU_SATURATED]
    assert tuple(Distrust.from_dict(r.to_dict()) for r in both) == both


def test_the_distrust_label_names_each_cause_and_only_for_an_untrustworthy_run() -> None:
    few, cpu = Distrust(Cause.TOO_FEW_REQUESTS, completed=31), Distrust(Cause.CPU_SATURATED, saturated_share=0.125)
    assert distrust_label({"trustworthy": True, "distrust": []}) is None
    assert distrust_label({"trustworthy": False, "distrust": [few.to_dict()]}) == (
        "too few requests (31 completed, 50 needed)"
    )
    assert distrust_label({"trustworthy": False, "distrust": [few.to_dict(), cpu.to_dict()]}) == (
        "too few requests (31 completed, 50 needed); generator CPU saturated (12% of the samples at >= 90% of a core)"
    )
    assert distrust_label({"trustworthy": False}) == "reason not recorded"  # a summary.json from before


@pytest.mark.parametrize(
    "suffix, text, message",
    [
        (".toml", "[overall\np99_ms = 1\n", "malformed TOML"),
        (".toml", "", None),
        (".json", "{not json", "malformed JSON"),
        (".yaml", "overall: [1, 2\n", "malformed YAML"),
        (".toml", "[overall]\np99_ms = 'fast'\n", "could not convert string to float"),
        (".toml", "[overal]\np99_ms = 1\n", "unknown SLO section"),
        (".json", "[1, 2]", "expected a table of sections, got list"),
        (".txt", "", "unsupported suffix"),
    ],
)
def test_a_bad_slo_file_is_one_clear_value_error(
    tmp_path: Path, suffix: str, text: str, message: str | None
) -> None:
    path = tmp_path / f"slo{suffix}"
    path.write_text(text)
    if message is None:  # an empty file names no limit: the defaults
        assert SloSet.from_file(path) == SloSet.default()
        return
    with pytest.raises(ValueError) as caught:
        SloSet.from_file(path)
    text_of = str(caught.value)
    assert text_of.startswith(f"SLO file {path}: ") and message in text_of and "\n" not in text_of, text_of


@pytest.mark.parametrize(
    "suffix, text",
    [
        (".toml", '[overall]\np99_ms = 42\n[endpoints."PUT /v1/customer_sessions/[id]"]\np95_ms = 7\n'),
        (".json", json.dumps({"overall": {"p99_ms": 42}, "endpoints": {SESSION: {"p95_ms": 7}}})),
        (".yaml", f"overall:\n  p99_ms: 42\nendpoints:\n  '{SESSION}':\n    p95_ms: 7\n"),
    ],
)
def test_files_layer_over_the_defaults(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"slo{suffix}"
    path.write_text(text)
    table = {s.name: s.limit for s in SloSet.from_file(path).slos}
    assert table["overall.p99_ms"] == 42 and table[f"{SESSION}.p95_ms"] == 7
    assert table["overall.p95_ms"] == SloSet.default().to_mapping()["overall"]["p95_ms"]
    assert SloSet.from_mapping(SloSet.from_file(path).to_mapping()) == SloSet.from_file(path)


def test_bad_input_is_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match="p42_ms"):
        Slo("overall", "p42_ms", 1.0)
    with pytest.raises(ValueError, match="unknown SLO section"):
        SloSet.from_mapping({"overal": {}})
    with pytest.raises(ValueError, match="-1"):
        Slo("overall", "p99_ms", -1)


def test_generator_cpu_saturation_marks_the_run_untrustworthy() -> None:
    ok, details = cpu_trust([20.0, 35.0, 95.0] + [40.0] * 17, [50.0])
    assert ok and details["saturated_share"] == 0.05
    saturated, details = cpu_trust([97.0, 99.0, 60.0, 98.0], [100.0], locust_warnings=1)
    assert not saturated and details["max_process_percent"] == 99.0 and details["locust_cpu_warnings"] == 1
    assert cpu_trust([], [])[0]  # no samples (a very short run): nothing says it saturated


def test_unanswered_requests_count_when_they_waited_longer_than_max_ms() -> None:
    raw = {"p50": 1.0, "p95": 5.0, "p99": 10.0, "p99.9": 15.0, "max": 20.0}

    def verdict(slos: SloSet, *waits: float) -> str:
        row = EndpointStats("Aggregated", 1000, 0, raw, unanswered_ms=waits)
        stats = RunStats({"overall": row}, duration_s=10.0)
        (v,) = [v for v in evaluate(slos, stats) if v.slo.metric == "unanswered"]
        return v.describe()

    # cut off by the end after 5 ms: nothing known about them; after 2.5 s: over the 2000 ms max_ms limit
    assert verdict(SloSet.default(), 5.0, 1999.0) == (
        "PASS overall.unanswered: 0 requests unanswered when the run ended, each waiting over 2000 ms (limit <= 0)"
    )
    assert verdict(SloSet.default(), 5.0, 2500.0, 9000.0) == (
        "BREACH overall.unanswered: 2 requests unanswered when the run ended, each waiting over 2000 ms "
        "(limit <= 0)"
    )
    tight = SloSet.default().with_overall(max_ms=100.0, unanswered=1.0)
    assert verdict(tight, 150.0).startswith("PASS overall.unanswered: 1 requests")
    assert verdict(tight, 150.0, 101.0).startswith("BREACH overall.unanswered: 2 requests")
    v = next(v for v in evaluate(tight, RunStats({"overall": EndpointStats("o", 9, 0, raw)}, 1.0))
             if v.slo.metric == "unanswered")
    assert Verdict.from_dict(v.to_dict()) == v


def test_a_median_gate_sees_a_constant_slowdown_that_leaves_the_tail_alone() -> None:
    slos = SloSet((Slo(SESSION, "p50_ms", 45.0),))
    assert [v.describe() for v in evaluate(slos, _stats())] == [f"PASS {SESSION}.p50_ms: observed 1 (limit <= 45)"]
    slowed = _stats()
    slowed.endpoints[SESSION].raw["p50"] = 52.5
    assert [v.describe() for v in breached(evaluate(slos, slowed))] == [
        f"BREACH {SESSION}.p50_ms: observed 52.5 (limit <= 45)"]
