"""Contract check speed: `talon-harness check` (harness.check.run_check) vs plain `st run`, same contract,
same budget (max examples per operation and time limit), same seed, each against a fresh reference
server. Reports cases per second and total seconds, medians over `--runs` rounds (alternating order).
Cases are counted the same way for both (ScenarioFinished events of schemathesis' NDJSON report).

    python bench/check_speed.py [--runs 5] [--budget default|ci|thorough] [--seed 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, machine, median, write_results
from talon_harness.harness._check_report import read_report
from talon_harness.harness.check import BUDGETS, CheckConfig, run_check
from talon_harness.refserver import ServerProcess

CONTRACT = ROOT / "contracts" / "integration-v1.yaml"


def _details(report: Any) -> list[dict[str, str]]:
    """What failed (check, operation, phase, title, first message line, curl), so a surprise can be chased."""
    if report is None:
        return []
    return [{"check": f.check, "operation": f.operation, "phase": f.phase, "title": f.title,
             "message": f.message.split("\n", 1)[0][:300], "curl": f.curl[:500]} for f in report.failures]


def _ours(base_url: str, budget: Any, seed: int, report_dir: Path) -> dict[str, Any]:
    config = CheckConfig(base_url=base_url, max_examples=budget.max_examples, max_time=budget.max_time,
                         seed=seed, fresh_server=True, quiet=True, report_dir=report_dir)
    started = time.perf_counter()
    result = run_check(config)
    seconds = time.perf_counter() - started
    cases = result.report.total_cases if result.report else 0
    requests = result.report.requests if result.report else 0
    return {"seconds": seconds, "cases": cases, "requests": requests, "exit_code": result.exit_code,
            "failures": result.failures, "failure_details": _details(result.report)}


def _plain(base_url: str, budget: Any, seed: int, report_dir: Path) -> dict[str, Any]:
    report_dir.mkdir(parents=True, exist_ok=True)
    ndjson = report_dir / "events.ndjson"
    argv = [sys.executable, "-m", "schemathesis.cli", "run", str(CONTRACT), "--url", base_url, "--seed", str(seed),
            "--max-examples", str(budget.max_examples), "--max-time", str(int(budget.max_time)),
            "--mode", "all", "--checks", "all", "--workers", "1", "--generation-database", "none",
            "--suppress-health-check", "all", "--report", "ndjson", "--report-ndjson-path", str(ndjson),
            "--no-color"]
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=report_dir, capture_output=True, text=True, check=False,
                          timeout=budget.max_time + 120)
    seconds = time.perf_counter() - started
    report = read_report(ndjson, report_dir / "none.json", creds=None, curl=lambda *_a, **_k: "")
    return {"seconds": seconds, "cases": report.total_cases if report else 0,
            "requests": report.requests if report else 0, "exit_code": proc.returncode,
            "failures": len(report.failures) if report else 0, "failure_details": _details(report)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--budget", choices=sorted(BUDGETS), default="default")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    started = machine()
    budget = BUDGETS[args.budget]
    runners = {"talon-harness check": _ours, "plain st run": _plain}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in runners}
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        for round_no in range(args.runs):
            order = list(runners) if round_no % 2 == 0 else list(reversed(runners))
            for name in order:
                with ServerProcess(quiet=True) as server:
                    out = runners[name](server.base_url, budget, args.seed,
                                        Path(tmp) / f"{round_no}-{name.split()[-1]}")
                out["cases_per_s"] = out["cases"] / out["seconds"] if out["seconds"] else 0.0
                runs[name].append(out)
                print(f"round {round_no + 1} {name}: {out['cases']} cases in {out['seconds']:.1f} s "
                      f"({out['cases_per_s']:.1f}/s), exit {out['exit_code']}", flush=True)
    summary = {name: {k: median(r[k] for r in rs) for k in ("seconds", "cases", "cases_per_s", "requests")}
               for name, rs in runs.items()}
    ours, plain = summary["talon-harness check"], summary["plain st run"]
    table = [
        (f"Budget `{args.budget}`: {budget.max_examples} examples per operation, time limit {budget.max_time:g} s; "
         f"seed {args.seed}; all phases, positive + negative; each run against a fresh reference server. "
         f"Medians of {args.runs} rounds. `check` adds 13 domain checks, edge ids/bodies and auth hooks."),
        "",
        "| runner | cases | requests | total s | cases / s |",
        "|---|---|---|---|---|",
        *(f"| {name} | {s['cases']:.0f} | {s['requests']:.0f} | {s['seconds']:.1f} | {s['cases_per_s']:.1f} |"
          for name, s in summary.items()),
        "",
        f"check / plain st run: cases per second {ours['cases_per_s'] / plain['cases_per_s']:.2f}x, "
        f"total time {ours['seconds'] / plain['seconds']:.2f}x."
        if plain["cases_per_s"] and plain["seconds"] else "",
    ]
    write_results("check_speed", {"settings": {**vars(args), "max_examples": budget.max_examples,
                                               "max_time": budget.max_time},
                                  "summary": summary, "runs": runs}, table, started=started)


if __name__ == "__main__":
    main()
