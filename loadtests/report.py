"""Our reports, written from a judged :class:`LoadOutcome`: ``summary.json`` (the outcome, plus the
settings, generator CPU and machine), ``hdr.json`` (the HDR histograms themselves) and ``latency.png``
(latency percentiles and throughput over time, drawn by ``loadtests.plots``, with ``timeline.json``). This
module only writes; the judging is in ``gates``.

Locust's own HTML/CSV/JSON reports are written by Locust (``--html``, ``--csv``, ``--json-file``). No
credential ever reaches these files: the summary holds ``LoadConfig.to_json()``, which has none.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from pathlib import Path
from typing import Any

from talon_harness.loadtests.baseline import Histograms, too_small
from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.outcome import SUMMARY_FILE, LoadOutcome, read_summary
from talon_harness.loadtests.plots import write_plots
from talon_harness.loadtests.recorder import LatencyRecorder

__all__ = ["HDR_FILE", "PLOT_FILE", "SUMMARY_FILE", "log", "read_outcome", "write"]

PLOT_FILE = "latency.png"
HDR_FILE = "hdr.json"
_COLUMNS = ("p50", "p90", "p95", "p99", "p99.9", "max")


def log(outcome: LoadOutcome) -> None:
    """The outcome as console lines in Locust's log: HDR percentiles, breaches, warnings."""
    logger = logging.getLogger("talon-harness")
    logger.info(f"{'HDR latency (ms)':<44}{'':>10}" + "".join(f"{c:>10}" for c in _COLUMNS))
    for row in outcome.endpoints:
        for tag, pct in (("raw", row.raw), ("corrected", row.corrected)):
            if pct:
                logger.info(f"{row.name:<44}{tag:>10}" + "".join(f"{pct[c]:>10.3f}" for c in _COLUMNS))
    for line in outcome.breaches:
        logger.warning(line)
    for b in outcome.baseline:
        if b.passed:
            logger.info(b.describe())
    for warning in outcome.warnings:
        logger.warning(warning)


def write(
    outcome: LoadOutcome,
    recorder: LatencyRecorder,
    config: LoadConfig,
    *,
    cpu: dict[str, Any],
    workers: dict[str, dict[str, int]] | None = None,
) -> Path:
    """Write hdr.json, latency.png and summary.json into ``config.report_dir`` (and, with
    ``baseline_update``, hdr.json and summary.json into ``config.baseline`` when a request completed, with a
    warning when they are too few to compare the SLOs' percentiles: ``baseline.too_small``); ``workers`` (a
    master's per-worker shares) goes into the summary. Returns the summary path."""
    directory = Path(config.report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    files = [directory / HDR_FILE]
    files[0].write_text(json.dumps(_hdr_dump(recorder)), encoding="utf-8")
    doc = outcome.to_dict()
    doc.update(
        settings=json.loads(config.to_json()),
        generator_cpu=cpu,
        machine={
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        histograms={"unit": "microseconds", "significant_digits": 3, "file": HDR_FILE},
    )
    if workers:
        doc["workers"] = workers
    if config.baseline_update:  # a recording that cannot judge the SLOs' percentiles says so
        small = too_small(Histograms(recorder.raw, recorder.corrected), config.slo)
        doc["warnings"] += [small] if small else []
    try:
        files += write_plots(recorder, directory / PLOT_FILE, doc, target=config.base_url,
                             users=config.users if config.rate is None else None)
    except Exception as exc:  # noqa: BLE001 - a plot must never lose the summary
        doc["warnings"].append(f"plot failed: {type(exc).__name__}: {exc}")
    doc["files"] = [p.name for p in files] + [SUMMARY_FILE]
    summary = directory / SUMMARY_FILE
    summary.write_text(json.dumps(doc, indent=2, allow_nan=False, default=str), encoding="utf-8")
    if config.baseline_update and config.baseline is not None and outcome.completed > 0:
        target = Path(config.baseline)
        target.mkdir(parents=True, exist_ok=True)
        if target.resolve() != directory.resolve():
            for name in (HDR_FILE, SUMMARY_FILE):
                (target / name).write_bytes((directory / name).read_bytes())
    return summary


def read_outcome(directory: Path) -> LoadOutcome:
    """The outcome in ``directory/summary.json`` (raises OSError / ValueError / KeyError when unreadable)."""
    return LoadOutcome.from_dict(read_summary(directory))


def _hdr_dump(recorder: LatencyRecorder) -> dict[str, Any]:
    return {
        "unit": "microseconds",
        "significant_digits": 3,
        "encoding": "HdrHistogram V2 base64 (compressed)",
        "raw": {k: h.encode().decode() for k, h in recorder.raw.items()},
        "corrected": {k: h.encode().decode() for k, h in recorder.corrected.items()},
    }
