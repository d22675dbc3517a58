"""Issue 13 item 4: the one self-contained HTML report per run (check and load), its content, the PNG plot,
and both pages loaded in a real headless Chromium (Debian's ``chromium`` package) with a screenshot.

Screenshots go to ``$TALON_SCREENSHOT_DIR`` when set (else the test's temp dir) as ``check_report.png`` and
``load_report.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from html import escape
from pathlib import Path

import pytest

from talon_harness.harness.html_report import filtered_sentence
from talon_harness.loadtests.plots import _nines, run_title, timeline_figure
from tests.harness.conftest import CliRun

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def _html(run: CliRun) -> str:
    return (run.report_dir / "report.html").read_text(encoding="utf-8")


def _self_contained(page: str) -> None:
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=['\"]?(https?:)?//", page)
    assert "@import" not in page and "url(http" not in page


def test_check_report_shows_verdict_tables_and_each_failure(failing_check: CliRun) -> None:
    page = _html(failing_check)
    _self_contained(page)
    assert "<span class='verdict fail' id='verdict'>FAILED</span>" in page
    assert "<table id='phases'>" in page and "<table id='checks'>" in page
    checks = re.findall(r"<tr><td class=''>(\w+)</td><td class=''>(domain|built-in)</td>", page)
    kinds = [kind for _, kind in checks]
    assert kinds == sorted(kinds, key=lambda k: k != "domain") and {"domain", "built-in"} <= set(kinds)
    failure = re.search(r"<h3>Failure \d+: event_id_strictly_increasing</h3>.*?</div>", page, re.DOTALL)
    assert failure, page[-3000:]
    text = failure.group(0)
    for part in ("sent:", "expected:", "received:", "Reproduce:</p><pre>curl -sS -X PUT", "seed 1",
                 "talon-harness check --seed 1"):
        assert part in text, part
    assert "<a href='html/index.html'>html/index.html</a>: schemathesis&#x27; own HTML report" in page


def test_check_report_explains_the_filtered_failures(passing_check: CliRun) -> None:
    filtered = json.loads((passing_check.report_dir / "report.json").read_text())["filtered"]
    assert filtered > 0  # seed 1 meets domain-rule 400s in the coverage phase
    page = _html(passing_check)
    assert "<span class='verdict pass' id='verdict'>PASSED</span>" in page
    assert f"<p id='filtered'>{escape(filtered_sentence(filtered))}</p>" in page


def test_load_report_shows_verdict_slo_plots_arrivals_and_details(failing_load: CliRun) -> None:
    page = _html(failing_load)
    _self_contained(page)
    assert "<span class='verdict fail' id='verdict'>FAILED</span>" in page
    assert re.search(r"<tr><td class=''>overall\.p95_ms</td><td class='n'>[\d.]+</td><td class='n'>0\.001</td>"
                     r"<td class='bad'>FAIL</td></tr>", page)
    for element in ("<table id='slo'>", "<table id='latency'>", "<table id='arrivals'>", "<table id='details'>",
                    "<figure id='timeline'><svg", "<figure id='distribution'><svg"):
        assert element in page, element
    for label in ("SLO p95 &lt;= 0.001 ms BREACHED", "throughput (requests/s)", "90%", "latency (ms)"):
        assert label in page, label
    assert re.search(r"<td class=''>target</td><td class=''>http://127\.0\.0\.1:\d+</td>", page)
    assert "<td class=''>rate (journeys/s)</td><td class='n'>5.0</td>" in page
    assert (failing_load.report_dir / "latency.png").stat().st_size > 10_000


def test_nines_axis_and_plain_millisecond_ticks() -> None:
    assert [_nines(10.0**k) for k in range(5)] == ["0%", "90%", "99%", "99.9%", "99.99%"]
    rows = [{"t": float(t), "rps": 10.0, "fail_rps": 0.0, "raw_p50": 1.5, "raw_p95": 4.0, "raw_p99": 30.0,
             "corrected_p50": None, "corrected_p95": None, "corrected_p99": None} for t in range(5)]
    summary = {"mode": "closed", "duration_s": 5, "settings": {"seed": 0},
               "slo": [{"scope": "overall", "metric": "p99_ms", "limit": 250.0, "passed": True}]}
    figure = timeline_figure(rows, 1.0, summary, users=3)
    figure.canvas.draw()
    latency_axis = figure.axes[0]
    labels = [t.get_text() for t in latency_axis.get_yticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"[\d.]+", label) for label in labels), labels
    assert figure.texts[0].get_text() == "talon-harness load: closed model, 3 users, 5 s, seed 0"
    legend = latency_axis.get_legend()
    assert "SLO p99 <= 250 ms" in [t.get_text() for t in legend.get_texts()]
    assert legend.get_window_extent().x0 >= latency_axis.get_window_extent().x1  # outside the data


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium")
@pytest.mark.parametrize("which", ["check", "load"])
def test_report_loads_in_headless_chromium(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    run: CliRun = request.getfixturevalue("failing_check" if which == "check" else "failing_load")
    url = (run.report_dir / "report.html").as_uri()
    shots = Path(os.environ.get("TALON_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"{which}_report.png"
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    try:
        base = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
        dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, timeout=90, check=False)
        picture = subprocess.run([*base, "--window-size=1280,2000", "--hide-scrollbars", f"--screenshot={shot}", url],
                                 capture_output=True, timeout=90, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    page, log = dom.stdout.decode(errors="replace"), dom.stderr.decode(errors="replace")
    assert dom.returncode == 0 and picture.returncode == 0, log[-2000:]
    assert "Page load failed" not in log and "CONSOLE" not in log, log[-2000:]
    assert re.search(r'<span class="verdict fail" id="verdict">FAILED</span>', page), page[:2000]
    assert ('<table id="checks">' if which == "check" else '<table id="slo">') in page
    if which == "load":
        assert '<figure id="timeline"><svg' in page and '<figure id="distribution"><svg' in page
    else:
        assert "<h3>Failure 1: " in page
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_replay_is_titled_by_its_speed_not_a_model() -> None:
    summary = {"mode": "replay", "duration_s": 12, "settings": {"seed": 0, "replay_speed": 5.0}}
    assert run_title(summary) == "talon-harness load: replay of a recording at 5x its pace, 12 s, seed 0"
