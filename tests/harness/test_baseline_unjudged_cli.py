"""Issue 25 item 5, end to end: ``talon-harness load --baseline DIR`` on loopback against the embedded
reference server. A short recording warns that it cannot judge the SLOs' percentiles; a short comparison
against it judges no tail percentile, so it is "nothing measured" (exit 2) with one line saying what would
judge it, and it never ends "every SLO held"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness.conftest import run_cli

pytestmark = pytest.mark.timeout(300)

ROW = r"PUT /v1/customer_\w+/\[id\]"
NOT_JUDGED = re.compile(
    r"^Error: baseline: nothing measured: no tail percentile \(p95, p99, p99\.9\) was compared; \d of 8 baseline "
    r"gates not judged \(too few requests\): p95 needs 200 requests per endpoint in both runs \(--duration "
    r"(\d+m)?\d+s at this run's pace, or [\d.]+x its request rate\), p99 1000 \((\d+m)?\d+s, or [\d.]+x\), "
    r"p99\.9 10000 \((\d+h)?(\d+m)?\d+s, or \d+x\); the baseline holds too few as well: record it again as long "
    r"with --baseline-update$", re.MULTILINE)


def test_a_short_baseline_run_warns_and_its_comparison_is_nothing_measured(tmp_path: Path) -> None:
    slo = tmp_path / "slo.toml"
    slo.write_text("[overall]\np95_ms = 60000\np99_ms = 60000\n", encoding="utf-8")  # latency never breaches
    baseline = tmp_path / "baseline"
    common = ["load", "--rate", "10", "--duration", "4", "--slo", str(slo), "--baseline", str(baseline)]
    (tmp_path / "record").mkdir()
    recorded = run_cli([*common, "--baseline-update"], tmp_path / "record")
    assert recorded.rc == 0, recorded.output[-3000:]
    assert re.search(
        rf"^warning: --baseline-update: the recorded baseline is too small to compare p95, p99, p99\.9 \(asked by "
        rf"the SLOs\): {ROW} holds \d+ requests, 200 / 1000 / 10000 needed in each endpoint row; record a longer "
        r"or faster run$", recorded.output, re.MULTILINE), recorded.output[-3000:]
    assert (baseline / "hdr.json").exists()

    (tmp_path / "compare").mkdir()
    compared = run_cli(common, tmp_path / "compare")
    assert compared.rc == 2, compared.output[-3000:]
    assert len(NOT_JUDGED.findall(compared.output)) == 1, compared.output[-3000:]
    assert "every SLO held" not in compared.output and "every judged gate held" not in compared.output
    assert re.search(r"^UNJUDGED baseline all tail: no tail percentile \(p95, p99, p99\.9\) was compared$",
                     compared.output, re.MULTILINE)
    assert compared.step_summary.startswith("### talon-harness load: ⚠️ ERROR\n"), compared.step_summary[:300]
    page = (compared.report_dir / "report.html").read_text(encoding="utf-8")
    assert "<span class='verdict fail' id='verdict'>NOT JUDGED</span>" in page
