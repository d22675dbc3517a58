"""No false positive over many seeds: `talon-harness check --seed N` at a budget (default: the default one)
against a fresh, correct reference server for every seed N, one server per seed. Every failure seen is
recorded with its details (check, operation, phase, message, curl; witness failures too), so a surprise
can be chased. A correct server must pass every seed (exit 0).

    python bench/check_seeds.py [--seeds 0-9] [--budget default|ci|thorough] [--api v1|v1-2021|v2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, write_results
from talon_harness.contracts.spec import API_NAMES, DEFAULT_API, server_revision
from talon_harness.harness.check import BUDGETS, CheckConfig, CheckResult, run_check
from talon_harness.harness.target import check_credentials
from talon_harness.refserver import ServerProcess


def seed_range(text: str) -> list[int]:
    """``"0-9"`` -> 0..9, ``"3"`` -> [3], ``"1,4,7"`` -> those."""
    if "-" in text:
        low, high = text.split("-", 1)
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in text.split(",")]


def failure_details(result: CheckResult) -> list[dict[str, str]]:
    """Every failure of a run: schemathesis' (deduplicated by the report) and the witness phase's."""
    rows = [{"source": "schemathesis", "check": f.check, "operation": f.operation, "phase": f.phase,
             "title": f.title, "message": f.message[:2000], "curl": f.curl[:2000]}
            for f in (result.report.failures if result.report else ())]
    rows += [{"source": "witness", "check": f.check, "operation": f.witness, "phase": f.step, "title": "",
              "message": f.message[:2000], "curl": f"{f.method} {f.url}"}
             for f in (result.witness.failures if result.witness else ())]
    return rows


def run_seed(seed: int, budget: Any, report_dir: Path, api: str = DEFAULT_API) -> dict[str, Any]:
    """One `check --api api` run at ``seed`` against a fresh correct reference server speaking ``api``."""
    creds = check_credentials(api, None, None)
    with ServerProcess(quiet=True, api=server_revision(api), api_key=creds.api_key if creds else None) as server:
        started = time.perf_counter()
        result = run_check(CheckConfig(base_url=server.base_url, max_examples=budget.max_examples,
                                       max_time=budget.max_time, seed=seed, fresh_server=True, quiet=True,
                                       report_dir=report_dir, max_regressions=0, api=api, credentials=creds))
        seconds = time.perf_counter() - started
    return {"seed": seed, "exit_code": result.exit_code, "seconds": round(seconds, 1),
            "cases": result.report.total_cases if result.report else 0, "message": result.message,
            "failures": failure_details(result)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-9", help="a range (0-9), one seed, or a comma list")
    ap.add_argument("--budget", choices=sorted(BUDGETS), default="default")
    ap.add_argument("--api", choices=API_NAMES, default=DEFAULT_API)
    args = ap.parse_args()
    started = machine()
    budget = BUDGETS[args.budget]
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-seeds-") as tmp:
        for seed in seed_range(args.seeds):
            out = run_seed(seed, budget, Path(tmp) / str(seed), args.api)
            runs.append(out)
            print(f"seed {seed}: exit {out['exit_code']}, {out['cases']} cases, {len(out['failures'])} failure(s) "
                  f"in {out['seconds']:.0f} s {out['message']}", flush=True)
            for f in out["failures"]:
                print(f"   {f['source']} {f['check']} {f['operation']} {f['phase']}: {f['message'][:300]}", flush=True)
    passed = sum(r["exit_code"] == 0 for r in runs)
    table = [
        (f"API `{args.api}`. Budget `{args.budget}`: {budget.max_examples} examples per operation, time limit {budget.max_time:g} s; "
         "each seed against a fresh, correct reference server (`fresh_server`, all phases, every check, "
         "the witness phase first)."),
        "",
        "| seed | exit | cases | failures | seconds |",
        "|---|---|---|---|---|",
        *(f"| {r['seed']} | {r['exit_code']} | {r['cases']} | {len(r['failures'])} | {r['seconds']:.0f} |"
          for r in runs),
        "",
        f"{passed} of {len(runs)} seeds passed (exit 0) on the correct server.",
        *(f"- seed {r['seed']}: {f['source']} `{f['check']}` {f['operation']} ({f['phase']}): "
          f"{f['message'].splitlines()[0][:300] if f['message'] else ''}" for r in runs for f in r["failures"]),
    ]
    name = f"check_seeds_{args.budget}" if args.budget != "default" else "check_seeds"
    write_results(name if args.api == DEFAULT_API else f"{name}_{args.api}",
                  {"settings": {**vars(args), "max_examples": budget.max_examples, "max_time": budget.max_time},
                   "passed": passed, "runs": runs}, table, started=started)
    sys.exit(0 if passed == len(runs) else 1)


if __name__ == "__main__":
    main()
