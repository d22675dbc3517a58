"""Baseline regression gates: no false alarm run to run, and the two latency faults caught.

Against tests/loadtests/faultapp.py (the reference server's app under uvicorn) on loopback: one clean run
writes a baseline; ``--repeats`` clean runs are compared with it (each must pass: the default margins
hold); then a server adding 60 ms to every session update and one stalling 1 request in 400 for 1.5 s are
each compared with the clean baseline (the run must fail) and with a baseline of their own (the baseline
comparisons must pass; the stalling server still fails the default tail SLO there, p99.9 <= 1000 ms, as it
should). Default SLOs and default margins throughout. Writes bench/results/load_baseline.{json,md}.

    python bench/load_baseline.py [--seconds 15] [--users 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_common import write
from talon_harness.loadtests import LoadConfig, LoadResult, run_load
from tests.loadtests.conftest import fault_server

FAULTS: dict[str, dict[str, float]] = {
    "session_delay_60ms": {"session_delay_ms": 60},
    "stall_1_in_400_1500ms": {"slow_every": 400, "slow_ms": 1500},
}


def _row(label: str, result: LoadResult, expect_pass: bool, judged: str) -> dict[str, Any]:
    outcome = result.outcome
    baseline_passed = outcome is not None and all(b.passed for b in outcome.baseline)
    verdict = result.passed if judged == "run" else baseline_passed
    compared = [b for b in outcome.baseline if b.status in ("pass", "breach")] if outcome else []
    worst = max(compared, key=lambda b: (b.observed_ms or 0) / (b.limit_ms or 1), default=None)
    return {
        "run": label,
        "exit_code": result.exit_code,
        "passed": result.passed,
        "baseline_passed": baseline_passed,
        "judged": judged,
        "as_expected": verdict == expect_pass,
        "requests": outcome.completed if outcome else 0,
        "compared": len(compared),
        "skipped": sum(b.status == "skip" for b in outcome.baseline) if outcome else 0,
        "worst": worst.describe() if worst else None,
        "worst_ratio_to_limit": round((worst.observed_ms or 0) / (worst.limit_ms or 1), 3) if worst else None,
        "breaches": list(result.breaches),
        "comparisons": [b.describe() for b in compared],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []

    def run(url: str, tmp: Path, label: str, expect_pass: bool, judged: str = "run", **kw: Any) -> None:
        config = LoadConfig(
            base_url=url,
            users=args.users,
            duration_s=args.seconds,
            think_scale=0.0,
            report_dir=tmp / label,
            **kw,
        )
        rows.append(_row(label, run_load(config), expect_pass, judged))
        print(rows[-1]["run"], rows[-1]["passed"], rows[-1]["worst"], flush=True)

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        clean = tmp / "clean-baseline"
        with fault_server() as url:
            run(url, tmp, "clean baseline (update)", True, baseline=clean, baseline_update=True)
            for i in range(args.repeats):
                run(url, tmp, f"clean #{i + 1} vs clean baseline", True, baseline=clean)
        for fault, knobs in FAULTS.items():
            own = tmp / f"{fault}-baseline"
            with fault_server(**knobs) as url:
                run(url, tmp, f"{fault} vs clean baseline", False, baseline=clean)
                run(
                    url,
                    tmp,
                    f"{fault} baseline (update)",
                    True,
                    "baseline",
                    baseline=own,
                    baseline_update=True,
                )
                run(url, tmp, f"{fault} vs its own baseline", True, "baseline", baseline=own)
    table = [
        "| run | exit | run passed | baseline passed | expected (judged on) | requests | compared / skipped | worst |",
        "|---|---|---|---|---|---|---|---|",
    ]
    table += [
        f"| {r['run']} | {r['exit_code']} | {r['passed']} | {r['baseline_passed']} | "
        f"{r['as_expected']} ({r['judged']}) | {r['requests']} | "
        f"{r['compared']} / {r['skipped']} | {r['worst'] or '-'} |"
        for r in rows
    ]
    ok = all(r["as_expected"] for r in rows)
    table += ["", f"**Every run as expected: {ok}** (default SLOs; default margins: +50% and +25 ms, +500 ms for p99.9)."]
    write("load_baseline", {"settings": vars(args), "rows": rows, "passed": ok}, table)


if __name__ == "__main__":
    main()
