"""Summarise `talon-harness selftest` runs (with the witness phase) into bench/results/witness_selftest.{json,md}.

Each input is ``LABEL=DIR`` where DIR is a selftest ``--report-dir`` holding ``selftest.json``; beside DIR the
runner may leave ``DIR.start``/``DIR.end`` (UTC stamps), ``DIR.load`` (uptime before/after) and ``DIR.busypid``
(a busy loop kept one core at 100% for the run). Per fault: detected runs, median requests to the first failure
(counted from the first witness request) and the checks that caught it; the witness phase length is measured
here against a fresh correct refserver.

    python bench/witness_selftest.py --command "talon-harness selftest --seeds 1 --no-baseline" \\
        quiet=/tmp/wsel/quiet1 busy=/tmp/wsel/busy1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

from talon_harness.contracts.witness import READ_BACK_WITNESSES, WITNESSES, run_witnesses
from talon_harness.refserver import ServerProcess
from talon_harness.refserver.faults import FAULTS

RESULTS = Path(__file__).resolve().parent / "results"


def _machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(), "system": platform.platform()}


def _side(folder: Path, suffix: str) -> str:
    path = folder.with_name(folder.name + suffix)
    return path.read_text().strip() if path.exists() else ""


def _run(label: str, folder: Path, command: str) -> dict[str, Any]:
    data = json.loads((folder / "selftest.json").read_text())
    rows = [r for r in data["rows"] if r["tool"] == "talon-harness"]
    per_fault: dict[str, Any] = {}
    for name in FAULTS:
        mine = [r for r in rows if r["fault"] == name]
        if not mine:
            continue
        hits = [r for r in mine if r["detected"]]
        reqs = [r["requests"] for r in hits if r["requests"] is not None]
        per_fault[name] = {
            "class": FAULTS[name].fault_class, "runs": len(mine), "detected": len(hits),
            "median_requests_to_failure": statistics.median(reqs) if reqs else None,
            "by": sorted({c for r in hits for c in r["by"]}),
            "in_witness_phase": sum(r["note"] == "witness phase" for r in hits),
        }
    correct = [r for r in rows if r["fault"] == ""]
    return {"label": label, "command": command, "busy_core": bool(_side(folder, ".busypid")),
            "started": _side(folder, ".start"), "ended": _side(folder, ".end"), "load": _side(folder, ".load"),
            "seeds": data["config"]["seeds"], "faulty_runs": len(rows) - len(correct),
            "detected": sum(r["detected"] for r in rows if r["fault"]),
            "correct_server_clean_in_every_seed": not any(r["detected"] for r in correct),
            "correct_runs": len(correct), "per_fault": per_fault}


def _markdown(payload: dict[str, Any]) -> str:
    runs = payload["runs"]
    lines = [f"# Selftest with the witness phase (commit {payload['commit'][:12]})", "",
             (f"Machine: {payload['machine']['cpus']} x {payload['machine']['cpu']}, Python "
             f"{payload['machine']['python']} (see the load averages for other work beside the runs)."),
             (f"Witness phase on a correct refserver: {payload['witness_phase']['requests']} requests "
             f"({payload['witness_phase']['puts']} PUTs + the read-backs of failed_request_changes_nothing on "
             f"{', '.join(sorted(READ_BACK_WITNESSES))}), "
             f"{payload['witness_phase']['seconds']:.2f}s, {len(WITNESSES)} witnesses."), ""]
    for run in runs:
        lines += [(f"- **{run['label']}**: `{run['command']}`{' with one core kept at 100% by `python3 -c while True: pass`' if run['busy_core'] else ''}; "
                  f"{run['started']} - {run['ended']}; detected {run['detected']}/{run['faulty_runs']}; correct server "
                  f"clean in every seed: {run['correct_server_clean_in_every_seed']} ({run['correct_runs']} runs); "
                  f"load: {run['load'].replace(chr(10), ' / ')}")]
    for run in runs:
        inside = {n: f for n, f in run["per_fault"].items() if f["in_witness_phase"] == f["runs"]}
        worst = max((f["median_requests_to_failure"] for f in inside.values()), default=None)
        judged = {n: f for n, f in run["per_fault"].items() if FAULTS[n].fault_class in
                  ("semantics", "validation", "crash")}
        over = sorted(n for n, f in judged.items() if (f["median_requests_to_failure"] or 0) > 50)
        largest = max((f["median_requests_to_failure"] or 0 for f in judged.values()), default=None)
        lines.append(f"- {run['label']}: {len(inside)}/{len(run['per_fault'])} faults caught in the witness phase in "
                     f"every run (largest median {worst}, phase length {payload['witness_phase']['requests']}); "
                     f"semantic/validation/crash faults: largest median {largest}, above 50 requests: {over or 'none'}")
    lines += ["", "Median requests to the first failure (from the first witness request; detected runs only):", "",
              "| fault | class | " + " | ".join(f"{r['label']} detected | {r['label']} median req" for r in runs)
              + " | caught by |", "|---|---|" + "---|---|" * len(runs) + "---|"]
    for name in FAULTS:
        cells = []
        for run in runs:
            f = run["per_fault"].get(name)
            cells += [f"{f['detected']}/{f['runs']}" if f else "-", str(f["median_requests_to_failure"]) if f else "-"]
        by = sorted({c for run in runs for c in (run["per_fault"].get(name) or {}).get("by", [])})
        lines.append(f"| {name} | {FAULTS[name].fault_class} | " + " | ".join(cells) + f" | {', '.join(by)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="LABEL=DIR[=COMMAND]")
    parser.add_argument("--command", default="talon-harness selftest --seeds 1 --no-baseline")
    parser.add_argument("--commit", default="")
    args = parser.parse_args()
    commit = args.commit or subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                           check=True).stdout.strip()
    runs = []
    for spec in args.runs:
        label, folder, *command = spec.split("=", 2)
        runs.append(_run(label, Path(folder), command[0] if command else args.command))
    with ServerProcess(quiet=True) as server:
        phase = run_witnesses(server.base_url)
    payload = {"commit": commit, "machine": _machine(), "runs": runs,
               "witness_phase": {"requests": phase.requests, "puts": phase.steps, "seconds": phase.seconds,
                                 "witnesses": {k: v[0] for k, v in phase.witnesses.items()}}}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "witness_selftest.json").write_text(json.dumps(payload, indent=2) + "\n")
    (RESULTS / "witness_selftest.md").write_text(_markdown(payload))
    print((RESULTS / "witness_selftest.md").read_text())


if __name__ == "__main__":
    main()
