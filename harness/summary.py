"""CI-native summaries: Markdown appended to ``$GITHUB_STEP_SUMMARY`` and one ``::error`` line per failure.

Only when ``GITHUB_STEP_SUMMARY`` is set (GitHub Actions sets it for every step); elsewhere nothing
happens. ``check_summary`` and ``load_summary`` build the text (pure), :func:`publish` writes it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from talon_harness.contracts.apis import is_domain_check
from talon_harness.loadtests.baseline import read_gaps
from talon_harness.loadtests.gates import distrust_label
from talon_harness.loadtests.outcome import read_summary

if TYPE_CHECKING:
    from talon_harness.contracts.witness import WitnessFailure, WitnessResult
    from talon_harness.harness.check_config import CheckResult

__all__ = ["SUMMARY_ENV", "annotation", "check_summary", "load_summary", "publish"]

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
_VERDICTS = {0: "✅ PASSED", 1: "❌ FAILED", 2: "⚠️ ERROR", 130: "⏹️ INTERRUPTED"}


def annotation(title: str, message: str) -> str:
    """One GitHub workflow command line ``::error title=...::message`` (newlines and separators escaped)."""
    def data(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    return f"::error title={data(title).replace(':', '%3A').replace(',', '%2C')}::{data(message)}"


def check_summary(result: CheckResult, *, base_url: str,
                  curl: Callable[[WitnessFailure], str] | None = None) -> tuple[str, list[str]]:
    """(Markdown, annotation lines) for a finished check: the witness phase, then schemathesis' run; one
    annotation per failure of either. ``curl`` gives a witness failure's reproducing curl line."""
    report = result.report
    requests = (report.requests if report else 0) + (result.witness.requests if result.witness else 0)
    lines = [f"### talon-harness check: {_VERDICTS.get(result.exit_code, 'stopped')}", "",
             (f"target `{base_url}` · seed `{result.seed}` · {result.seconds:.1f} s · "
             f"cases {report.total_cases if report else 0} · requests {requests} · "
             f"failures {result.failures}"), ""]
    if result.message:
        lines += [f"> {result.message}", ""]
    annotations: list[str] = []
    if result.witness is not None:
        lines += _witness(result.witness, result.seed, annotations, curl)
    if report is not None:
        lines += _table(("check", "kind", "passed", "failed", "not applicable"), [
            (f"`{name}`", "domain" if is_domain_check(name) else "built-in", c["success"],
             f"**{c['failure']}**" if c["failure"] else 0, report.total_cases - c["success"] - c["failure"])
            for name, c in sorted(report.checks.items(), key=lambda kv: (not is_domain_check(kv[0]), kv[0]))])
        for failure in report.failures:
            first = failure.message.strip().splitlines()[0] if failure.message.strip() else failure.title
            lines += ["", (f"<details><summary>❌ {failure.check} ({failure.code}, {failure.operation}, "
                          f"{failure.phase} phase)</summary>"), "", "```", failure.message, "", failure.curl,
                      f"seed: {result.seed}", "```", "</details>"]
            annotations.append(annotation(f"talon-harness check: {failure.check}",
                                          f"{failure.operation}: {first} (seed {result.seed})"))
    if result.exit_code == 2 and result.message:
        annotations.append(annotation("talon-harness check could not run", result.message))
    lines += ["", _files(result.report_dir, ("report.html", "junit.xml", "report.json", "html/index.html",
                                             "schemathesis.log", "events.ndjson"))]
    return "\n".join(lines) + "\n", annotations


def _witness(witness: WitnessResult, seed: int, annotations: list[str],
             curl: Callable[[WitnessFailure], str] | None) -> list[str]:
    """The witness phase's table and failures (Markdown lines); appends one annotation per failure."""
    failed = sum(f for _, f in witness.witnesses.values())
    lines = [f"Witness phase: {witness.requests} requests, {failed} failed ({witness.seconds:.1f} s)", ""]
    lines += _table(("witness", "requests", "failed requests"), [
        (f"`{name}`", requests, f"**{bad}**" if bad else 0) for name, (requests, bad) in witness.witnesses.items()])
    for failure in witness.failures:
        first = failure.message.strip().splitlines()[0] if failure.message.strip() else failure.check
        lines += ["", (f"<details><summary>❌ {failure.check} (witness {failure.witness}, step {failure.step}, "
                       f"request {failure.request_number})</summary>"), "", "```", failure.message, "",
                  curl(failure) if curl else f"{failure.method} {failure.url}", f"seed: {seed}", "```", "</details>"]
        annotations.append(annotation(f"talon-harness check: {failure.check}",
                                      f"witness {failure.witness}, {failure.method} {failure.url}: {first}"))
    if witness.error:
        lines += ["", f"> witness phase stopped: {witness.error}"]
    return [*lines, ""]


def load_summary(report_dir: Path, problems: Sequence[str] = ()) -> tuple[str, list[str]]:
    """(Markdown, annotation lines) for the load run whose ``summary.json`` is in ``report_dir``; each of
    ``problems`` (why the harness could not judge it, e.g. credentials refused mid-run) is a line of its own."""
    summary = read_summary(report_dir)
    unmeasured, gap = read_gaps(summary)
    verdict = _VERDICTS[2] if unmeasured else "✅ PASSED" if summary.get("passed") else "❌ FAILED"
    rate, arrivals = summary.get("rate") or {}, summary.get("arrivals") or {}
    distrust = distrust_label(summary)
    lines = [f"### talon-harness load: {verdict}", "",
             f"{summary.get('mode', '?')} model · {summary.get('duration_s', 0):.0f} s · "
             f"{rate.get('achieved_requests_per_s') or 0:.1f} requests/s · arrivals intended "
             f"{arrivals.get('intended', 0)}, late {arrivals.get('late', 0)}, dropped {arrivals.get('dropped', 0)}"
             + ("" if distrust is None else f" · ⚠️ not trustworthy: {distrust}"), ""]
    if unmeasured in problems:  # run_load's problems hold it already: said once
        unmeasured = gap = None
    note = unmeasured or (f"⚠️ {gap.describe()}" if gap else None)  # skipped baseline gates are no pass
    if note:
        lines += [f"> {note}", ""]
    rows = []
    for name, row in (summary.get("endpoints") or {}).items():
        for kind in ("raw", "corrected"):
            pct = (row.get("latency_ms") or {}).get(kind)
            if pct:
                rows.append((f"`{name}`", "service" if kind == "raw" else "corrected",
                             row["requests"] if kind == "raw" else "", row["failures"] if kind == "raw" else "",
                             *(f"{pct[p]:.2f}" for p in ("p50", "p95", "p99", "p99.9", "max"))))
    lines += [f"> ⚠️ {problem}" for problem in problems] + ([""] if problems else [])
    lines += _table(("endpoint", "latency (ms)", "requests", "failures", "p50", "p95", "p99", "p99.9", "max"), rows)
    lines += [""] + _table(("SLO", "observed", "limit", "verdict"), [
        (f"`{v['slo']}`", f"{v['observed']:.4g}" if isinstance(v.get("observed"), float) else v.get("observed"),
         f"{v['limit']:g}", "pass" if v["passed"] else "**FAIL**") for v in summary.get("slo") or []])
    annotations = [annotation("talon-harness load could not judge the run", problem) for problem in problems]
    annotations += [annotation("talon-harness load: SLO breached", v["text"])
                    for v in summary.get("slo") or [] if not v["passed"]]
    if unmeasured:
        annotations.append(annotation("talon-harness load measured nothing", unmeasured))
    lines += ["", _files(report_dir, ("report.html", "summary.json", "latency.png", "hdr.json", "locust.html"))]
    return "\n".join(lines) + "\n", annotations


def publish(markdown: str, annotations: Sequence[str]) -> bool:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY`` and print the annotations; False when it is unset."""
    target = os.environ.get(SUMMARY_ENV)
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(markdown + "\n")
    for line in annotations:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return True


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return out


def _files(directory: Path, names: Iterable[str]) -> str:
    present = [f"`{directory / name}`" for name in names if (directory / name).exists()]
    if not present:
        return ""
    return "Report files (upload the report directory as an artifact): " + ", ".join(present)
