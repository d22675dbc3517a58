"""The whole catalogue with and without the oracle, and every emitted regression test replayed.

The same run as ``talon-harness selftest --seeds 1 --no-baseline --oracle --report-dir DIR``: for every fault,
``check`` then ``check --oracle`` (witness phase on, stop at the first failure), requests to the first failure,
and the regression test the oracle run emitted, replayed with pytest against a fresh faulty server (must fail)
and a fresh correct one (must pass). Heavy (about 15 minutes): run it under ``flock /work/helpers/bench.lock``.

    python bench/selftest_oracle.py                       # the documented run, seed 0
    python bench/selftest_oracle.py --faults intermittent_503,session_created_dropped

Writes bench/results/selftest_oracle.{json,md} (``--faults``: selftest_oracle_subset.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import RESULTS, command_line, machine
from talon_harness.harness.selftest import ORACLE_TOOL, Detection, SelftestConfig, run_selftest
from talon_harness.refserver.faults import FAULTS


def _rounds(regression: str) -> str:
    """How many times the emitted file sends its sequence (ROUNDS; more than 1: an intermittent failure)."""
    if not regression or not Path(regression).exists():
        return "-"
    found = re.search(r"^ROUNDS = (\d+)", Path(regression).read_text(encoding="utf-8"), re.MULTILINE)
    return found.group(1) if found else "1"


def _row(fault: str, plain: Detection, oracle: Detection) -> str:
    def verdict(value: bool | None) -> str:
        return "-" if value is None else str(value)

    return (f"| {fault} | {FAULTS[fault].fault_class} | {plain.requests} | {oracle.requests} | "
            f"{', '.join(oracle.by)} | {_rounds(oracle.regression)} | {verdict(oracle.regression_fails_on_fault)} | "
            f"{verdict(oracle.regression_passes_on_correct)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", default="")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/talon-selftest-oracle"))
    args = parser.parse_args()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    faults = tuple(f for f in args.faults.split(",") if f)
    started, begun = machine(), time.monotonic()
    start_clock = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    result = run_selftest(SelftestConfig(faults=faults, seeds=1, baseline=False, oracle=True,
                                         report_dir=args.work_dir), progress=lambda r: print(r, flush=True))
    end_clock = datetime.now(UTC).strftime("%H:%M:%SZ")
    load_end = [round(x, 2) for x in os.getloadavg()]
    rows = {(r.tool, r.fault): r for r in result.rows}
    chosen = faults or tuple(FAULTS)
    emitted = [rows[(ORACLE_TOOL, f)] for f in chosen if rows[(ORACLE_TOOL, f)].regression]
    good = [r for r in emitted if r.regression_fails_on_fault and r.regression_passes_on_correct]
    bad = [f"{r.fault} (fails on fault: {r.regression_fails_on_fault}, passes on correct: "
           f"{r.regression_passes_on_correct})" for r in emitted if r not in good]
    name = "selftest_oracle_subset" if faults else "selftest_oracle"
    data = {"command": command_line(), "equivalent": f"talon-harness selftest --seeds 1 --no-baseline --oracle "
            f"--report-dir {args.work_dir}" + (f" --faults {args.faults}" if faults else ""),
            "machine": started, "loadavg_at_end": load_end, "minutes": round((time.monotonic() - begun) / 60, 1),
            "regressions": {"emitted": len(emitted), "fail_on_fault_pass_on_correct": len(good), "other": bad},
            **json.loads(result.json_path.read_text())}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    rate = "-" if result.baseline_rate is None else f"{result.baseline_rate:.0%}"
    lines = [f"# selftest --oracle, seeds 1{' (subset)' if faults else ''}", "",
             f"Command: `{data['command']}` (the same as `{data['equivalent']}`)  ",
             f"Commit: {started['commit']}  ",
             (f"Machine: {started['cores']} cores ({started['cpu_model']}), Python {started['python']}; "
              f"{start_clock} - {end_clock} ({data['minutes']} min), load average {started['loadavg_at_start'][0]:.2f} "
              f"at the start, {load_end[0]:.2f} at the end. Raw rows: `{name}.json`."), "",
             (f"Detection: talon-harness {result.detection_rate:.0%}, with --oracle "
              f"{data.get('oracle_rate', 0):.0%} (plain schemathesis: {rate}); correct server clean: "
              f"{result.correct_server_clean}."), "",
             ("For every fault: requests to the first failure with and without `--oracle`, the checks that caught it "
              "in the oracle run, how many times the emitted regression test sends its sequence (more than 1: the "
              "failure is intermittent, see harness/regressions.py), and that test replayed against a fresh faulty "
              "server (must fail) and a fresh correct one (must pass)."), "",
             ("| fault | class | without --oracle: req | with --oracle: req | caught by (oracle run) | rounds | "
             "regression fails on fault | passes on correct |"),
             "|---|---|---|---|---|---|---|---|"]
    lines += [_row(f, rows[("talon-harness", f)], rows[(ORACLE_TOOL, f)]) for f in chosen]
    lines += ["", (f"Regressions emitted: {len(emitted)} of {len(chosen)} (a fault caught after the check, by the "
                   f"harness probes or the load step, fails no check and emits none). Failed on the faulty server "
                   f"and passed on the correct one: {len(good)}" + (f"; not: {'; '.join(bad)}." if bad else "."))]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
