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

import jinja2
from markupsafe import Markup

from talon_harness.contracts.apis import is_domain_check
from talon_harness.harness._check_report import PHASES
from talon_harness.loadtests.baseline import read_gaps
from talon_harness.loadtests.gates import distrust_label
from talon_harness.loadtests.outcome import read_summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from talon_harness.harness.check_config import CheckResult

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
    page: dict[str, Any] = {
        "title": f"talon-harness check: {verdict}", "verdict": verdict, "verdict_class": _cls(result.exit_code == 0),
        "base_url": base_url, "seed": result.seed, "seconds": f"{result.seconds:.1f}",
        "cases": report.total_cases if report else 0, "requests": report.requests if report else 0,
        "failure_count": result.failures, "message": result.message, "report": report,
        "files": _files(result.report_dir, (
            ("html/index.html", "schemathesis' own HTML report"), ("junit.xml", "JUnit XML"),
            ("report.json", "schemathesis' JSON report"), ("schemathesis.log", "schemathesis' log"),
            ("events.ndjson", "full event stream (--keep-events)")))}
    if report is not None:
        phases = [[p, c["positive"], c["negative"], sum(c.values())]
                  for p in PHASES if (c := report.cases_per_phase.get(p)) is not None]
        phases.append(["all", "", "", report.total_cases])
        rows = [[name, "domain" if is_domain_check(name) else "built-in", c["success"], c["failure"],
                 report.total_cases - c["success"] - c["failure"]]
                for name, c in sorted(report.checks.items(), key=lambda kv: (not is_domain_check(kv[0]), kv[0]))]
        filtered = int(report.summary.get("filtered") or 0)
        page.update(
            phases=_table(("phase", "positive", "negative", "total"), phases, id_="phases"),
            operations=_table(("operation", "cases", "failed cases"), [
                [label, c["cases"], c["failed"]] for label, c in sorted(report.operations.items())], bad=(2,)),
            checks=_table(("check", "kind", "passed", "failed", "not applicable"), rows, bad=(3,), id_="checks"),
            failures=report.failures, filtered=filtered_sentence(filtered) if filtered else "")
    return _write(result.report_dir, "check.html.j2", page)


def write_load_report(report_dir: Path, *, target: str | None = None) -> Path:
    """Write ``report.html`` for the load run whose files are in ``report_dir``; needs ``summary.json``."""
    from talon_harness.loadtests.plots import TIMELINE_FILE, distribution_figure, run_title, timeline_figure

    summary = read_summary(report_dir)
    timeline = _json(report_dir / TIMELINE_FILE)
    target = target or timeline.get("target")
    users = timeline.get("users")
    unmeasured, gap = read_gaps(summary)
    passed = bool(summary.get("passed"))
    verdict = "NOT JUDGED" if unmeasured else "PASSED" if passed else "FAILED"
    latency_rows = []
    for name, row in (summary.get("endpoints") or {}).items():
        for kind in ("raw", "corrected"):
            pct = (row.get("latency_ms") or {}).get(kind)
            if pct:
                latency_rows.append([name, "service" if kind == "raw" else "corrected",
                                     row["requests"] if kind == "raw" else "", row["failures"] if kind == "raw" else "",
                                     *(f"{pct[p]:.2f}" for p in ("p50", "p90", "p95", "p99", "p99.9", "max"))])
    histograms = _histograms(report_dir / "hdr.json")
    rate, arrivals, cpu = summary.get("rate") or {}, summary.get("arrivals") or {}, summary.get("generator_cpu") or {}
    settings = summary.get("settings") or {}
    page: dict[str, Any] = {
        "title": f"talon-harness load: {verdict}", "verdict": verdict, "verdict_class": _cls(passed),
        "run_title": run_title(summary, target=target, users=users),
        "note": unmeasured or (gap.describe() if gap else None),  # skipped baseline gates are no pass
        "warnings": summary.get("warnings") or [],
        "slo": _table(("SLO", "observed", "limit", "verdict"), [
            [v["slo"], _fmt(v.get("observed")), _fmt(v.get("limit")), "pass" if v["passed"] else "FAIL"]
            for v in summary.get("slo") or []], bad=(3,), id_="slo"),
        "latency": _table(("endpoint", "kind", "requests", "failures", "p50", "p90", "p95", "p99", "p99.9", "max"),
                          latency_rows, bad=(3,), id_="latency"),
        "timeline_svg": _svg(timeline_figure(timeline["rows"], float(timeline.get("window_s") or 1), summary,
                                             target=target, users=users)) if timeline.get("rows") else None,
        "distribution_svg": _svg(distribution_figure(histograms, summary, target=target, users=users))
        if histograms else None,
        "arrivals": _table(("measure", "value"), [
            ["achieved requests/s", _fmt(rate.get("achieved_requests_per_s"))],
            ["intended arrivals (journeys)/s", _fmt(rate.get("intended_arrivals_per_s"))],
            ["achieved arrivals (journeys)/s", _fmt(rate.get("achieved_arrivals_per_s"))],
            ["arrivals intended", arrivals.get("intended", "")],
            [f"arrivals late (> {_fmt(arrivals.get('late_threshold_ms'))} ms)", arrivals.get("late", "")],
            ["arrivals dropped", arrivals.get("dropped", "")]], id_="arrivals"),
        "details": _table(("setting", "value"), [
            ["target", target or "(not recorded)"], ["model", summary.get("mode", "")],
            _model_row(summary.get("mode"), settings, users),
            ["duration (s)", _fmt(summary.get("duration_s"))], ["seed", settings.get("seed", "")],
            ["generator CPU (busiest process, mean / max %)",
             f"{_fmt(cpu.get('mean_process_percent'))} / {_fmt(cpu.get('max_process_percent'))}"],
            ["trustworthy", _trust(summary)]], id_="details"),
        "files": _files(report_dir, (
            ("summary.json", "summary (JSON)"), ("hdr.json", "HDR histograms"), ("latency.png", "latency PNG"),
            ("locust.html", "Locust's own HTML report"), ("locust_stats.csv", "Locust CSV"),
            ("locust.log", "Locust log")))}
    return _write(report_dir, "load.html.j2", page)


def _write(directory: Path, template: str, page: dict[str, Any]) -> Path:
    """Render ``template`` (``harness/templates``, shipped as package data) with ``page`` into ``report.html``."""
    path = directory / HTML_FILE
    path.write_text(_ENV.get_template(template).render(style=_STYLE, **page) + "\n", encoding="utf-8")
    return path


def _escaped(value: object) -> object:
    """Autoescape with ``html.escape``'s entities (``&#x27;``), as the pages always had; Markup passes as is."""
    return value if isinstance(value, Markup) else Markup(escape(str(value)))


_ENV = jinja2.Environment(loader=jinja2.PackageLoader("talon_harness.harness", "templates"),
                          autoescape=True, finalize=_escaped, undefined=jinja2.StrictUndefined)


def _cls(ok: bool) -> str:
    return "pass" if ok else "fail"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], *, bad: tuple[int, ...] = (),
           id_: str | None = None) -> dict[str, Any]:
    """A table for the ``table`` macro: numbers right-aligned (class ``n``), non-zero cells of ``bad`` columns
    marked ``bad``."""
    out = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            numeric = isinstance(value, int | float) or (isinstance(value, str) and value.replace(".", "").isdigit())
            classes = ["n"] if numeric else []
            if i in bad and value not in (0, "0", "", "pass"):
                classes.append("bad")
            cells.append({"classes": " ".join(classes), "text": str(value)})
        out.append(cells)
    return {"id": id_, "header": list(header), "rows": out}


def _files(directory: Path, files: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, label) for name, label in files if (directory / name).exists()]


def _svg(figure: Figure) -> Markup:
    """The figure as inline SVG (text kept as text): matplotlib's own markup, the one value not escaped."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    return Markup(svg[svg.index("<svg"):])


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
