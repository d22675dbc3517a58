"""One self-contained HTML page per run, the file a person opens first (inline CSS and SVG, no network).

``write_check_report`` renders a finished check (verdict, per-phase/operation/check tables, every failure
with its evidence, curl and seed, links to schemathesis' own report). ``write_load_report`` renders a load
run from the files in its report directory (``summary.json``, ``hdr.json``, ``timeline.json``): verdict,
SLO table, latency over time with the SLO limits, the HDR percentile distribution, throughput, arrivals and
run details. Both return the path of ``report.html``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from talon_harness.contracts.checks import DOMAIN_CHECKS
from talon_harness.harness._check_report import PHASES
from talon_harness.loadtests.baseline import read_gaps
from talon_harness.loadtests.gates import distrust_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from talon_harness.harness.check import CheckResult

__all__ = ["HTML_FILE", "filtered_sentence", "write_check_report", "write_load_report"]

HTML_FILE = "report.html"
_VERDICTS = {0: "PASSED", 1: "FAILED", 2: "ERROR", 130: "INTERRUPTED"}
_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;
padding:0 16px;color:#1d2327}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}
.pass{background:#1a7f37}.fail{background:#cf222e}.meta{color:#57606a}
table{border-collapse:collapse;margin:6px 0 10px}th,td{border:1px solid #d0d7de;padding:3px 9px}
th{background:#f6f8fa;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.bad{color:#cf222e;font-weight:600}pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;
overflow-x:auto;white-space:pre-wrap;word-break:break-all}.failure{border-left:4px solid #cf222e;
padding-left:12px;margin:18px 0}figure{margin:8px 0}svg{max-width:100%;height:auto}
"""


def filtered_sentence(filtered: int) -> str:
    """What schemathesis' "N failures dropped by filter_failure" means, in one sentence."""
    return (f"{filtered} candidate failure(s) were set aside by talon-harness' filter_failure hook "
            "(contracts/hooks.py) and are not failures: each was a positive_data_acceptance (ST202) report of a "
            "400 that the server rightly returned, either for a domain rule the schema cannot express (an "
            "illegal session state change, a change to a closed session, a totalSales overflow, an invalid "
            "id) or for one of the harness' deliberately invalid bodies.")


def write_check_report(result: CheckResult, *, base_url: str) -> Path:
    """Write ``report.html`` for a finished check into ``result.report_dir``."""
    report = result.report
    verdict = _VERDICTS.get(result.exit_code, "STOPPED")
    parts = [_head(f"talon-harness check: {verdict}"),
             (f"<h1>talon-harness check <span class='verdict {_cls(result.exit_code == 0)}' id='verdict'>"
             f"{verdict}</span></h1>"),
             (f"<p class='meta'>target {escape(base_url)} &middot; seed {result.seed} &middot; "
             f"{result.seconds:.1f} s &middot; cases {report.total_cases if report else 0} &middot; requests "
             f"{report.requests if report else 0} &middot; failures {result.failures}</p>")]
    if result.message:
        parts.append(f"<p class='fail verdict'>{escape(result.message)}</p>")
    if report is not None:
        phases = [[p, c["positive"], c["negative"], sum(c.values())]
                  for p in PHASES if (c := report.cases_per_phase.get(p)) is not None]
        phases.append(["all", "", "", report.total_cases])
        parts += ["<h2>Generated cases per phase</h2>",
                  _table(("phase", "positive", "negative", "total"), phases, id_="phases")]
        parts += ["<h2>Per operation</h2>", _table(("operation", "cases", "failed cases"), [
            [label, c["cases"], c["failed"]] for label, c in sorted(report.operations.items())], bad=(2,))]
        rows = [[name, "domain" if name in DOMAIN_CHECKS else "built-in", c["success"], c["failure"],
                 report.total_cases - c["success"] - c["failure"]]
                for name, c in sorted(report.checks.items(), key=lambda kv: (kv[0] not in DOMAIN_CHECKS, kv[0]))]
        parts += [("<h2>Per check</h2><p class='meta'>domain rules (contracts/domain/) first, then "
                  "schemathesis' built-in checks; not applicable: the rule or check did not apply to the case.</p>"),
                  _table(("check", "kind", "passed", "failed", "not applicable"), rows, bad=(3,), id_="checks")]
        parts.append(f"<h2>Failures ({len(report.failures)})</h2>")
        if not report.failures:
            parts.append("<p>None.</p>")
        for number, failure in enumerate(report.failures, 1):
            parts.append(
                f"<div class='failure'><h3>Failure {number}: {escape(failure.check)}</h3>"
                f"<p class='meta'>{escape(failure.violation.decision or 'built-in')} &middot; {escape(failure.code)} "
                f"&middot; {escape(failure.operation)} &middot; "
                f"{escape(failure.phase)} phase &middot; seed {result.seed}</p>"
                f"<pre>{escape(failure.message)}</pre>"
                + (f"<p>Reproduce:</p><pre>{escape(failure.curl)}</pre>" if failure.curl else "")
                + f"<p class='meta'>Replay the run: <code>talon-harness check --seed {result.seed} ...</code></p></div>")
        filtered = int(report.summary.get("filtered") or 0)
        if filtered:
            parts.append(f"<h2>Filtered</h2><p id='filtered'>{escape(filtered_sentence(filtered))}</p>")
    parts.append("<h2>Files</h2>" + _links(result.report_dir, (
        ("html/index.html", "schemathesis' own HTML report"), ("junit.xml", "JUnit XML"),
        ("report.json", "schemathesis' JSON report"), ("schemathesis.log", "schemathesis' log"),
        ("events.ndjson", "full event stream (--keep-events)"))))
    path = result.report_dir / HTML_FILE
    path.write_text("".join(parts) + "</body></html>\n", encoding="utf-8")
    return path


def write_load_report(report_dir: Path, *, target: str | None = None) -> Path:
    """Write ``report.html`` for the load run whose files are in ``report_dir``; needs ``summary.json``."""
    from talon_harness.loadtests.plots import TIMELINE_FILE, distribution_figure, run_title, timeline_figure

    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    timeline = _json(report_dir / TIMELINE_FILE)
    target = target or timeline.get("target")
    users = timeline.get("users")
    unmeasured, gap = read_gaps(summary)
    passed = bool(summary.get("passed"))
    verdict = "NOT JUDGED" if unmeasured else "PASSED" if passed else "FAILED"
    parts = [_head(f"talon-harness load: {verdict}"),
             f"<h1>talon-harness load <span class='verdict {_cls(passed)}' id='verdict'>{verdict}</span></h1>",
             f"<p class='meta'>{escape(run_title(summary, target=target, users=users))}</p>"]
    note = unmeasured or (gap.describe() if gap else None)  # skipped baseline gates are no pass
    if note:
        parts.append(f"<p class='verdict fail' id='unjudged'>{escape(note)}</p>")
    for warning in summary.get("warnings") or []:
        parts.append(f"<p class='verdict fail'>warning: {escape(warning)}</p>")
    parts += ["<h2>SLO verdicts</h2>", _table(("SLO", "observed", "limit", "verdict"), [
        [v["slo"], _fmt(v.get("observed")), _fmt(v.get("limit")), "pass" if v["passed"] else "FAIL"]
        for v in summary.get("slo") or []], bad=(3,), id_="slo")]
    latency_rows = []
    for name, row in (summary.get("endpoints") or {}).items():
        for kind in ("raw", "corrected"):
            pct = (row.get("latency_ms") or {}).get(kind)
            if pct:
                latency_rows.append([name, "service" if kind == "raw" else "corrected",
                                     row["requests"] if kind == "raw" else "", row["failures"] if kind == "raw" else "",
                                     *(f"{pct[p]:.2f}" for p in ("p50", "p90", "p95", "p99", "p99.9", "max"))])
    parts += [("<h2>Latency (ms, HDR histograms)</h2><p class='meta'>service: from the actual send; corrected "
              "(open model): from the intended start, coordinated omission removed.</p>"),
              _table(("endpoint", "kind", "requests", "failures", "p50", "p90", "p95", "p99", "p99.9", "max"),
                     latency_rows, bad=(3,), id_="latency")]
    if timeline.get("rows"):
        parts += ["<h2>Latency and throughput over time</h2>",
                  _svg(timeline_figure(timeline["rows"], float(timeline.get("window_s") or 1), summary,
                                       target=target, users=users), "timeline")]
    histograms = _histograms(report_dir / "hdr.json")
    if histograms:
        parts += ["<h2>Latency distribution</h2>",
                  _svg(distribution_figure(histograms, summary, target=target, users=users), "distribution")]
    rate, arrivals, cpu = summary.get("rate") or {}, summary.get("arrivals") or {}, summary.get("generator_cpu") or {}
    settings = summary.get("settings") or {}
    parts += ["<h2>Throughput and arrivals</h2>", _table(("measure", "value"), [
        ["achieved requests/s", _fmt(rate.get("achieved_requests_per_s"))],
        ["intended arrivals (journeys)/s", _fmt(rate.get("intended_arrivals_per_s"))],
        ["achieved arrivals (journeys)/s", _fmt(rate.get("achieved_arrivals_per_s"))],
        ["arrivals intended", arrivals.get("intended", "")],
        [f"arrivals late (> {_fmt(arrivals.get('late_threshold_ms'))} ms)", arrivals.get("late", "")],
        ["arrivals dropped", arrivals.get("dropped", "")]], id_="arrivals")]
    parts += ["<h2>Run details</h2>", _table(("setting", "value"), [
        ["target", target or "(not recorded)"], ["model", summary.get("mode", "")],
        _model_row(summary.get("mode"), settings, users),
        ["duration (s)", _fmt(summary.get("duration_s"))], ["seed", settings.get("seed", "")],
        ["generator CPU (busiest process, mean / max %)",
         f"{_fmt(cpu.get('mean_process_percent'))} / {_fmt(cpu.get('max_process_percent'))}"],
        ["trustworthy", _trust(summary)]], id_="details")]
    parts.append("<h2>Files</h2>" + _links(report_dir, (
        ("summary.json", "summary (JSON)"), ("hdr.json", "HDR histograms"), ("latency.png", "latency PNG"),
        ("locust.html", "Locust's own HTML report"), ("locust_stats.csv", "Locust CSV"), ("locust.log", "Locust log"))))
    path = report_dir / HTML_FILE
    path.write_text("".join(parts) + "</body></html>\n", encoding="utf-8")
    return path


def _head(title: str) -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>")


def _cls(ok: bool) -> str:
    return "pass" if ok else "fail"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], *, bad: tuple[int, ...] = (),
           id_: str | None = None) -> str:
    out = [f"<table{f' id={chr(39)}{id_}{chr(39)}' if id_ else ''}><tr>"
           + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            numeric = isinstance(value, int | float) or (isinstance(value, str) and value.replace(".", "").isdigit())
            classes = ["n"] if numeric else []
            if i in bad and value not in (0, "0", "", "pass"):
                classes.append("bad")
            cells.append(f"<td class='{' '.join(classes)}'>{escape(str(value))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(out) + "</table>"


def _links(directory: Path, files: Iterable[tuple[str, str]]) -> str:
    items = [f"<li><a href='{escape(name)}'>{escape(name)}</a>: {escape(label)}</li>"
             for name, label in files if (directory / name).exists()]
    return "<ul>" + "".join(items) + "</ul>"


def _svg(figure: Figure, id_: str) -> str:
    """The figure as inline SVG (text kept as text)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    return f"<figure id='{id_}'>{svg[svg.index('<svg'):]}</figure>"


def _histograms(path: Path) -> dict[str, tuple[Any, Any]]:
    """Endpoint -> (raw, corrected) HdrHistogram from ``hdr.json``, plus their merge as "overall"."""
    from hdrh.histogram import HdrHistogram

    data = _json(path)
    out: dict[str, tuple[Any, Any]] = {}
    merged: dict[str, Any] = {}
    for name in data.get("raw") or {}:
        pair = []
        for tag in ("raw", "corrected"):
            encoded = (data.get(tag) or {}).get(name)
            hist = HdrHistogram.decode(encoded) if encoded else None
            pair.append(hist)
            if hist is not None:
                merged.setdefault(tag, HdrHistogram(1, 3_600_000_000, 3)).add(hist)
        out[name.split("/v1/customer_")[-1].removesuffix("/[id]")] = (pair[0], pair[1])
    if len(out) > 1:
        out["overall"] = (merged.get("raw"), merged.get("corrected"))
    return out


def _json(path: Path) -> Mapping[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return "" if value is None else str(value)


def _model_row(mode: object, settings: Mapping[str, Any], users: int | None) -> list[object]:
    """The run details row that says how hard the model pushed: the rate, the replay speed, or the users."""
    if mode == "open":
        return ["rate (journeys/s)", settings.get("rate")]
    if mode == "replay":
        return ["replay speed (x the recording's pace)", settings.get("replay_speed")]
    return ["users", users or "(not recorded)"]


def _trust(summary: Mapping[str, Any]) -> str:
    """The run details' trust cell: "yes", or "NO (" and each cause's own label ")"."""
    label = distrust_label(summary)
    return "yes" if label is None else f"NO ({label})"
