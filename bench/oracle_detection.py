"""Oracle benchmark: for every semantic fault of the catalogue, requests to the first failure of
`check` with and without `--oracle` (selftest budget, witness phase on, stop at first failure; with
`--oracle` the reference judges the witness phase too), and for every oracle detection whether the emitted
regression test fails on the faulty server and passes on the correct one.

    python bench/oracle_detection.py --seeds 1                # semantic faults, seed 0
    python bench/oracle_detection.py --correct-seeds 5 --seeds 0   # correct server, seeds 0-4, default budget

Writes bench/results/oracle_detection.{json,md} (or oracle_correct.{json,md} with --seeds 0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import command_line, machine
from talon_harness.harness.check import BUDGETS, CheckConfig, run_check
from talon_harness.harness.selftest import SelftestConfig, _ours
from talon_harness.refserver import ServerProcess
from talon_harness.refserver.faults import FAULTS

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--correct-seeds", type=int, default=0)
    parser.add_argument("--faults", default="")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/talon-oracle-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    args.work_dir.mkdir(parents=True)
    faults = [f for f in args.faults.split(",") if f] or [n for n, f in FAULTS.items() if f.fault_class == "semantics"]
    config = SelftestConfig(report_dir=args.work_dir)
    command = command_line()
    started = time.monotonic()
    host = machine()  # at the start: its commit and load average are the run's
    load_start = host["loadavg_at_start"]
    rows = []
    for seed in range(args.seeds):
        for fault in faults:
            for oracle in (False, True):
                folder = Path(tempfile.mkdtemp(prefix=f"{fault}-s{seed}-", dir=args.work_dir))
                row = _ours(config, fault, seed, folder, oracle=oracle)
                print(row, flush=True)
                rows.append(asdict(row))
    correct = []
    for seed in range(args.correct_seeds):
        with ServerProcess(quiet=True) as server:
            result = run_check(CheckConfig(base_url=server.base_url, seed=seed, fresh_server=True, oracle=True,
                                           quiet=True, report_dir=args.work_dir / f"correct-{seed}"))
        checks = result.report.checks.get("matches_reference", {}) if result.report else {}
        witness = result.witness
        correct.append({"seed": seed, "exit_code": result.exit_code, "requests": result.report.requests
                        if result.report else None, "matches_reference": dict(checks), "seconds": round(result.seconds, 1),
                        "witness_requests": witness.requests if witness else None,
                        "witness_failures": [f.check for f in witness.failures] if witness else None})
        print(correct[-1], flush=True)
    per_fault = {}
    for fault in faults:
        entry = {}
        for tool in ("talon-harness", "talon-harness --oracle"):
            hits = [r for r in rows if r["fault"] == fault and r["tool"] == tool]
            reqs = [r["requests"] for r in hits if r["detected"] and r["requests"] is not None]
            entry[tool] = {"detected": sum(r["detected"] for r in hits), "runs": len(hits),
                           "median_requests": statistics.median(reqs) if reqs else None,
                           "by": sorted({b for r in hits for b in r["by"]})}
        oracle_rows = [r for r in rows if r["fault"] == fault and r["tool"] == "talon-harness --oracle"]
        entry["regression"] = [[r["regression_fails_on_fault"], r["regression_passes_on_correct"]] for r in oracle_rows]
        per_fault[fault] = entry
    described = f"{host['cores']} cores ({host['cpu_model']}), Python {host['python']}"
    payload = {"command": command, "commit": host["commit"], "machine": described, "budget": {
        "selftest": {"max_examples": config.max_examples, "max_time": config.max_time},
        "correct": asdict(BUDGETS["default"])}, "minutes": round((time.monotonic() - started) / 60, 1),
        "per_fault": per_fault, "correct_server": correct, "rows": rows,
        "loadavg": {"start": load_start, "end": [round(x, 2) for x in os.getloadavg()]}}
    name = "oracle_detection" if args.seeds else "oracle_correct"
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2))
    lines = [f"# check --oracle: {name.replace('_', ' ')}", "",
             (f"Command: `{command}` at commit {payload['commit']}; machine: {described}; {payload['minutes']} min; "
              f"load average (1, 5, 15 min) at start {load_start}, at end {payload['loadavg']['end']} (the bench's own "
              "processes count in them; anything well above that was other work on the machine)."), ""]
    if rows:
        lines += [(f"Selftest budget (15 examples, 20 s, stop at the first failure), witness phase on, seeds "
                   f"0..{args.seeds - 1}. Requests to the first failure (median over detected seeds), counted "
                   "from the first witness request."), "",
                  "| fault | without --oracle | req | with --oracle | req | caught by (oracle run) | regression fails on fault / passes on correct |",
                  "|---|---|---|---|---|---|---|"]
        for fault, e in per_fault.items():
            a, b = e["talon-harness"], e["talon-harness --oracle"]
            lines.append(f"| {fault} | {a['detected']}/{a['runs']} | {a['median_requests']} | {b['detected']}/{b['runs']} "
                         f"| {b['median_requests']} | {', '.join(b['by'])} | {e['regression']} |")
        def med(tool: str) -> float:
            found = [r["requests"] for r in rows if r["tool"] == tool and r["detected"] and r["requests"] is not None]
            return statistics.median(found) if found else float("nan")

        lines += ["", (f"Median over all semantic detections: without --oracle {med('talon-harness')}, "
                       f"with --oracle {med('talon-harness --oracle')} requests.")]
    if correct:
        lines += ["", "Correct server, default budget (" + json.dumps(asdict(BUDGETS["default"])) + "):", "",
                  "| seed | exit | witness requests | witness failures | st requests | matches_reference (st) | s |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {c['seed']} | {c['exit_code']} | {c['witness_requests']} | {c['witness_failures']} | "
                  f"{c['requests']} | {c['matches_reference']} | {c['seconds']} |" for c in correct]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
