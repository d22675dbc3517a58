"""Issue 25 item 5: a baseline gate that was not judged is not a pass.

Pure: hand-filled HDR histograms compared as ``load --baseline`` compares them, then the verdict line, the
harness problem (exit 2) and the ``--baseline-update`` warning built from them, each asserted word for word.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from rich.console import Console

from talon_harness.harness.html_report import write_load_report
from talon_harness.harness.load_render import render_verdict
from talon_harness.harness.summary import annotation, load_summary
from talon_harness.loadtests._hdr import new_histogram
from talon_harness.loadtests.baseline import Histograms, compare, nothing_measured, too_small, unjudged
from talon_harness.loadtests.gates import Margins, RunStats, Slo, SloSet
from talon_harness.loadtests.outcome import build_outcome

SESSION = "PUT /v1/customer_sessions/[id]"
PROFILE = "PUT /v1/customer_profiles/[id]"


def _hists(counts: dict[str, int]) -> Histograms:
    raw = {}
    for name, n in counts.items():
        h = raw[name] = new_histogram()
        h.record_value(5000, n)  # n requests of 5 ms
    return Histograms(raw, {})


def _verdict_line(counts_now: dict[str, int], counts_base: dict[str, int], duration_s: float) -> str:
    outcome = build_outcome(
        RunStats(endpoints={}, duration_s=duration_s), (), trustworthy=True, warnings=(), late=0,
        late_threshold_ms=100.0, rate=None, max_rate=None,
        baseline=compare(_hists(counts_now), _hists(counts_base), Margins()),
    )
    console = Console(record=True, width=80, color_system=None)
    render_verdict(outcome, console)
    return console.export_text()


def test_the_issue_run_judges_no_tail_and_says_so_with_what_would_judge_it() -> None:
    """The issue's run: 30 s at the defaults, 117 session and 32 profile updates in both runs."""
    verdicts = compare(_hists({SESSION: 117, PROFILE: 32}), _hists({SESSION: 117, PROFILE: 32}), Margins())
    assert [v.status for v in verdicts] == ["pass", "skip", "skip", "skip"] * 2 + ["unjudged"]
    assert verdicts[-1].describe() == "UNJUDGED baseline all tail: no tail percentile (p95, p99, p99.9) was compared"
    assert not verdicts[-1].passed  # the run does not pass ...
    assert nothing_measured(verdicts, 30.0) == (  # ... it is the harness's "nothing measured" (exit 2)
        "baseline: nothing measured: no tail percentile (p95, p99, p99.9) was compared; 6 of 8 baseline gates "
        "not judged (too few requests): p95 needs 200 requests per endpoint in both runs (--duration 3m8s at "
        "this run's pace, or 6.3x its request rate), p99 1000 (15m38s, or 32x), p99.9 10000 (2h36m15s, or 313x); "
        "the baseline holds too few as well: record it again as long with --baseline-update"
    )


def test_a_run_that_judged_a_tail_passes_but_counts_what_it_skipped() -> None:
    verdicts = compare(_hists({SESSION: 500, PROFILE: 250}), _hists({SESSION: 1000, PROFILE: 1000}), Margins())
    assert [v.status for v in verdicts] == ["pass", "pass", "skip", "skip", "pass", "pass", "skip", "skip"]
    assert nothing_measured(verdicts, 30.0) is None
    gap = unjudged(verdicts, 30.0)
    assert gap is not None and (gap.skipped, gap.gates, gap.tail_judged) == (4, 8, True)
    assert gap.describe() == (
        "4 of 8 baseline gates not judged (too few requests): p99 needs 1000 requests per endpoint in both runs "
        "(--duration 2m at this run's pace, or 4x its request rate), p99.9 10000 (20m, or 40x); the baseline "
        "holds too few as well: record it again as long with --baseline-update"
    )
    # the baseline is not short when the run alone lacks requests: then only a longer run is asked for
    alone = unjudged(compare(_hists({SESSION: 300}), _hists({SESSION: 20000}), Margins()), 10.0)
    assert alone is not None and alone.describe() == (
        "2 of 4 baseline gates not judged (too few requests): p99 needs 1000 requests per endpoint in both runs "
        "(--duration 34s at this run's pace, or 3.4x its request rate), p99.9 10000 (5m34s, or 34x)"
    )


def test_the_verdict_line_never_says_every_slo_held_while_gates_were_skipped() -> None:
    assert _verdict_line({SESSION: 500, PROFILE: 250}, {SESSION: 1000, PROFILE: 1000}, 30.0) == (
        "load: every judged gate held; 4 of 8 baseline gates not judged (too few requests): p99 needs 1000 "
        "requests per endpoint in both runs (--duration 2m at this run's pace, or 4x its request rate), p99.9 "
        "10000 (20m, or 40x); the baseline holds too few as well: record it again as long with --baseline-update\n"
    )
    assert _verdict_line({SESSION: 20000}, {SESSION: 20000}, 30.0) == "load: every SLO held\n"
    assert unjudged(compare(_hists({SESSION: 20000}), _hists({SESSION: 20000}), Margins()), 30.0) is None


def test_a_row_missing_from_the_baseline_is_counted_unjudged() -> None:
    verdicts = compare(_hists({SESSION: 20000, PROFILE: 20000}), _hists({SESSION: 20000}), Margins())
    gap = unjudged(verdicts, 30.0)
    assert gap is not None and gap.describe() == "1 of 5 baseline gates not judged; 1 endpoint(s) not in the baseline"


def test_baseline_update_warns_when_the_recording_cannot_judge_the_slo_percentiles() -> None:
    recorded = _hists({SESSION: 117, PROFILE: 32})
    assert too_small(recorded, SloSet.default()) == (  # the defaults ask p95, p99 and (derived) p99.9
        "--baseline-update: the recorded baseline is too small to compare p95, p99, p99.9 (asked by the SLOs): "
        f"{PROFILE} holds 32 requests, 200 / 1000 / 10000 needed in each endpoint row; record a longer or faster run"
    )
    p50_only = SloSet((Slo("overall", "p50_ms", 100.0),))
    assert too_small(recorded, p50_only) is None  # 20 requests judge a median
    assert too_small(_hists({SESSION: 1200, PROFILE: 1000}), SloSet.default()) == (
        "--baseline-update: the recorded baseline is too small to compare p99.9 (asked by the SLOs): "
        f"{PROFILE} holds 1000 requests, 10000 needed in each endpoint row; record a longer or faster run"
    )
    assert too_small(_hists({SESSION: 10000, PROFILE: 10000}), SloSet.default()) is None


def test_the_step_summary_and_html_report_count_the_skipped_gates(tmp_path: Path) -> None:
    verdicts = compare(_hists({SESSION: 500, PROFILE: 250}), _hists({SESSION: 1000, PROFILE: 1000}), Margins())
    stats = RunStats(endpoints={}, duration_s=30.0)
    outcome = build_outcome(stats, (), trustworthy=True, warnings=(), late=0, late_threshold_ms=100.0, rate=None,
                            max_rate=None, baseline=verdicts)
    (tmp_path / "summary.json").write_text(json.dumps({**outcome.to_dict(), "settings": {"seed": 0}}))
    gap = unjudged(verdicts, 30.0)
    assert gap is not None
    markdown, annotations = load_summary(tmp_path)
    assert markdown.splitlines()[0] == "### talon-harness load: ✅ PASSED"
    assert markdown.splitlines()[4] == f"> ⚠️ {gap.describe()}" and annotations == []
    page = write_load_report(tmp_path).read_text(encoding="utf-8")
    assert f"<p class='verdict fail' id='unjudged'>{escape(gap.describe())}</p>" in page
    # no tail judged: the summary's verdict is the harness's error, with the one line and one annotation
    short = compare(_hists({SESSION: 117, PROFILE: 32}), _hists({SESSION: 117, PROFILE: 32}), Margins())
    outcome = build_outcome(stats, (), trustworthy=True, warnings=(), late=0, late_threshold_ms=100.0, rate=None,
                            max_rate=None, baseline=short)
    (tmp_path / "summary.json").write_text(json.dumps({**outcome.to_dict(), "settings": {"seed": 0}}))
    problem = nothing_measured(short, 30.0)
    markdown, annotations = load_summary(tmp_path)
    assert markdown.splitlines()[0] == "### talon-harness load: ⚠️ ERROR"
    assert markdown.splitlines()[4] == f"> {problem}"
    assert annotations == [annotation("talon-harness load measured nothing", str(problem))]
    assert load_summary(tmp_path, [str(problem)])[0].count(str(problem)) == 1  # said once when run_load has it
    assert "<span class='verdict fail' id='verdict'>NOT JUDGED</span>" in write_load_report(tmp_path).read_text()
