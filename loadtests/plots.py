"""Pictures of a load run (matplotlib, Agg): latency over time with the SLO limits, and the HDR percentile
distribution on a log-scaled "nines" axis, as HdrHistogram's plotter draws it.

:func:`write_plots` is called by the report writer: it saves ``latency.png`` and the per-window data it was
drawn from (``timeline.json``), so a later reader (the HTML report) draws the same figure without the
recorder. Every figure carries a title with the run's details, plain millisecond ticks, units on every axis
and its legend outside the data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from talon_harness.loadtests.gates import distrust_label

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram
    from matplotlib.figure import Figure

    from talon_harness.loadtests.recorder import LatencyRecorder

__all__ = ["TIMELINE_FILE", "distribution_figure", "run_title", "timeline_figure", "write_plots"]

TIMELINE_FILE = "timeline.json"
_PERCENTILES = (("p50", "tab:green"), ("p95", "tab:orange"), ("p99", "tab:red"))


def write_plots(recorder: LatencyRecorder, png: Path, summary: Mapping[str, Any], *,
                target: str | None = None, users: int | None = None) -> list[Path]:
    """Write ``png`` (latency and throughput over time) and ``timeline.json`` beside it; return both."""
    rows = recorder.timeline_rows()
    timeline = png.with_name(TIMELINE_FILE)
    plain = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]
    timeline.write_text(json.dumps({"window_s": recorder.window_s, "target": target, "users": users, "rows": plain}),
                        encoding="utf-8")
    figure = timeline_figure(plain, recorder.window_s, summary, target=target, users=users)
    figure.savefig(png, dpi=100, bbox_inches="tight")
    _close(figure)
    return [timeline, png]


def run_title(summary: Mapping[str, Any], *, target: str | None = None, users: int | None = None) -> str:
    """One line of run details: model, rate or users, duration, seed, target, trust."""
    settings = summary.get("settings") or {}
    if summary.get("mode") == "open":
        model = f"open model, {settings.get('rate'):g} journeys/s ({settings.get('arrival')})"
    elif summary.get("mode") == "replay":
        model = f"replay of a recording at {settings.get('replay_speed'):g}x its pace"
    else:
        model = "closed model" + (f", {users} users" if users else "")
    parts = [model, f"{summary.get('duration_s', 0):.0f} s", f"seed {settings.get('seed')}"]
    if target:
        parts.append(target)
    distrust = distrust_label(summary)
    if distrust is not None:
        parts.append(f"UNTRUSTWORTHY: {distrust}")
    return "talon-harness load: " + ", ".join(parts)


def timeline_figure(rows: Sequence[Mapping[str, Any]], window_s: float, summary: Mapping[str, Any], *,
                    target: str | None = None, users: int | None = None) -> Figure:
    """Raw (solid) and corrected (dashed) p50/p95/p99 per window with the overall latency SLO limits, and
    requests/failures per second below."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    figure = Figure(figsize=(11, 7), layout="constrained")
    ax1, ax2 = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    t = [r["t"] for r in rows]
    for p, color in _PERCENTILES:
        ax1.plot(t, [_num(r.get(f"raw_{p}")) for r in rows], color=color, label=f"{p} service time")
        corrected = [_num(r.get(f"corrected_{p}")) for r in rows]
        if any(not math.isnan(v) for v in corrected):
            ax1.plot(t, corrected, color=color, linestyle="--", label=f"{p} from intended start")
    for verdict in summary.get("slo") or []:
        metric = str(verdict.get("metric", ""))
        if verdict.get("scope") == "overall" and metric.startswith("p") and metric.endswith("_ms"):
            name = metric.removesuffix("_ms")
            color = dict(_PERCENTILES).get(name, "black")
            ax1.axhline(verdict["limit"], color=color, linestyle=":", linewidth=2,
                        label=f"SLO {name} <= {verdict['limit']:g} ms" + ("" if verdict.get("passed") else " BREACHED"))
    ax1.set_yscale("log")
    ax1.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax1.yaxis.set_major_formatter(FuncFormatter(_ms))
    ax1.yaxis.set_minor_formatter(NullFormatter())
    ax1.set_ylabel("latency (ms, log scale)")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax2.plot(t, [_num(r.get("rps")) for r in rows], label="requests/s")
    ax2.plot(t, [_num(r.get("fail_rps")) for r in rows], color="tab:red", label="failures/s")
    ax2.set_xlabel(f"time since start (s, {window_s:g} s windows)")
    ax2.set_ylabel("throughput (requests/s)")
    ax2.set_ylim(bottom=0)
    ax2.grid(True, alpha=0.3)
    ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    figure.suptitle(run_title(summary, target=target, users=users), fontsize="medium")
    return figure


def distribution_figure(histograms: Mapping[str, tuple[HdrHistogram | None, HdrHistogram | None]],
                        summary: Mapping[str, Any], *, target: str | None = None,
                        users: int | None = None) -> Figure:
    """Latency by percentile per endpoint (raw solid, corrected dashed); x is 1/(1-p) on a log axis
    labelled 0%, 90%, 99%, 99.9%, ... up to the last recorded value."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    figure = Figure(figsize=(11, 5), layout="constrained")
    ax = figure.subplots()
    top = 1
    for index, (name, (raw, corrected)) in enumerate(histograms.items()):
        color = f"C{index}"
        for tag, hist, style in (("service", raw, "-"), ("corrected", corrected, "--")):
            if hist is None or hist.get_total_count() == 0:
                continue
            xs, ys = _percentile_curve(hist)
            top = max(top, int(math.log10(xs[-1])) + 1)
            ax.plot(xs, ys, color=color, linestyle=style, label=f"{name} {tag}")
    ax.set_xscale("log")
    ticks = [10.0**k for k in range(top + 1)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(lambda x, _pos: _nines(x))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(1, ticks[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("percentile (log scale of 1/(1-p), as HdrHistogram plots it)")
    ax.set_ylabel("latency (ms)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    figure.suptitle("Latency by percentile (HDR histograms) - " + run_title(summary, target=target, users=users),
                    fontsize="medium")
    return figure


def _percentile_curve(hist: HdrHistogram, points: int = 200) -> tuple[list[float], list[float]]:
    """(1/(1-p), value in ms) from p = 0 up to the last recorded value (p = 1 - 1/count)."""
    count = hist.get_total_count()
    last = math.log10(max(count, 1))
    xs, ys = [], []
    for i in range(points + 1):
        x = 10 ** (last * i / points)
        xs.append(x)
        ys.append(hist.get_value_at_percentile(100.0 * (1.0 - 1.0 / x)) / 1000.0)
    xs.append(xs[-1])
    ys.append(hist.get_max_value() / 1000.0)
    return xs, ys


def _nines(x: float) -> str:
    """1 -> '0%', 10 -> '90%', 100 -> '99%', 1000 -> '99.9%'."""
    k = round(math.log10(x))
    return "0%" if k == 0 else f"{100 - 100 / 10**k:.{max(0, k - 2)}f}%"


def _ms(value: float, _pos: object = None) -> str:
    return f"{value:g}" if value >= 1 else f"{value:.3g}"


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _close(figure: Figure) -> None:
    figure.clear()
