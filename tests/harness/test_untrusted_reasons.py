"""Issue 25 item 4: an untrustworthy load run names its own cause everywhere it is shown.

In process: a judged outcome (as the Locust plugin builds it) written to ``summary.json``, then every renderer
of it: the plot titles, the HTML report's run details, the CI step summary and the console. A run with too
few requests must never be labelled "generator CPU saturated", and a saturated one must say so.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from talon_harness.harness.html_report import write_load_report
from talon_harness.harness.load_render import render_load_outcome
from talon_harness.harness.summary import load_summary
from talon_harness.loadtests.gates import EndpointStats, RunStats, SloSet, evaluate, trust
from talon_harness.loadtests.outcome import LoadOutcome, build_outcome
from talon_harness.loadtests.plots import distribution_figure, run_title, timeline_figure

FEW = "too few requests (31 completed, 50 needed)"
CPU = "generator CPU saturated (40% of the samples at >= 90% of a core)"
pytestmark = pytest.mark.filterwarnings("ignore:No artists with labels")  # the empty distribution figure
PCT = {"p50": 2.0, "p90": 3.0, "p95": 4.0, "p99": 5.0, "p99.9": 6.0, "max": 7.0, "min": 1.0, "mean": 2.5}


def _summary(tmp_path: Path, completed: int, *, cpu_ok: bool) -> tuple[LoadOutcome, dict[str, Any]]:
    """Judge a closed-model run of ``completed`` requests as the plugin does and write its summary.json."""
    stats = RunStats(endpoints={"overall": EndpointStats("overall", completed, 0, PCT)}, duration_s=5.0)
    distrust = trust(stats, cpu_ok=cpu_ok, saturated_share=0.4)
    outcome = build_outcome(stats, evaluate(SloSet.default(), stats), trustworthy=not distrust,
                            warnings=tuple(r.warning for r in distrust), distrust=distrust, late=0,
                            late_threshold_ms=100.0, rate=None, max_rate=None)
    doc = {**outcome.to_dict(), "settings": {"seed": 0},
           "generator_cpu": {"mean_process_percent": 1.8, "max_process_percent": 3.9}}
    (tmp_path / "summary.json").write_text(json.dumps(doc), encoding="utf-8")
    return LoadOutcome.from_dict(doc), doc


@pytest.mark.parametrize(("completed", "cpu_ok", "label"), [
    (31, True, FEW),
    (1000, False, CPU),
    (31, False, f"{FEW}; {CPU}"),
])
def test_every_renderer_names_the_cause_of_distrust(tmp_path: Path, completed: int, cpu_ok: bool,
                                                    label: str) -> None:
    outcome, summary = _summary(tmp_path, completed, cpu_ok=cpu_ok)
    title = f"talon-harness load: closed model, 5 s, seed 0, UNTRUSTWORTHY: {label}"
    assert run_title(summary) == title
    assert timeline_figure([], 1.0, summary).get_suptitle() == title
    assert distribution_figure({}, summary).get_suptitle() == f"Latency by percentile (HDR histograms) - {title}"
    page = write_load_report(tmp_path).read_text(encoding="utf-8")
    assert f"<tr><td class=''>trustworthy</td><td class=''>NO ({escape(label)})</td></tr>" in page
    markdown, _ = load_summary(tmp_path)
    assert markdown.splitlines()[2] == (
        f"closed model · 5 s · {completed / 5:.1f} requests/s · arrivals intended 0, late 0, dropped 0 · "
        f"⚠️ not trustworthy: {label}"
    )
    console = Console(record=True, width=300, color_system=None)
    render_load_outcome(outcome, console)
    warnings = [line for line in console.export_text().splitlines() if line.startswith("warning: ")]
    expected = []
    if completed < 50:
        expected.append(f"warning: only {completed} requests completed (fewer than 50): percentiles are not "
                        "trustworthy; run longer or with more load")
    if not cpu_ok:
        expected.append(f"warning: {CPU}: latencies include generator queueing; add workers or lower the load")
    assert warnings == expected
    if cpu_ok:  # the page: a too-few run with an idle CPU never blames the CPU anywhere
        assert "CPU saturated" not in title + page + markdown + console.export_text()


def test_a_trustworthy_run_shows_no_warning(tmp_path: Path) -> None:
    outcome, summary = _summary(tmp_path, 1000, cpu_ok=True)
    assert outcome.trustworthy and outcome.distrust == ()
    assert run_title(summary) == "talon-harness load: closed model, 5 s, seed 0"
    page = write_load_report(tmp_path).read_text(encoding="utf-8")
    assert "<tr><td class=''>trustworthy</td><td class=''>yes</td></tr>" in page
    assert "not trustworthy" not in load_summary(tmp_path)[0]
