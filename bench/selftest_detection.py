"""Selftest detection benchmark: every refserver fault x N seeds, ours vs plain `st run`.

Writes bench/results/selftest.json (all rows + median requests/seconds to first failure per fault
class) and bench/results/selftest.md (the table). Heavy: run on a quiet machine.

    python bench/selftest_detection.py --seeds 3            # the documented full run
    python bench/selftest_detection.py --seeds 1 --max-time 15
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import command_line, load_note, machine
from talon_harness.harness._selftest_render import markdown
from talon_harness.harness.selftest import SelftestConfig, run_selftest

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-examples", type=int, default=15)
    parser.add_argument("--max-time", type=float, default=20.0)
    parser.add_argument("--faults", default="")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/talon-selftest-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    config = SelftestConfig(faults=tuple(f for f in args.faults.split(",") if f), seeds=args.seeds,
                            max_examples=args.max_examples, max_time=args.max_time, report_dir=args.work_dir)
    host, started = machine(), time.monotonic()
    result = run_selftest(config, progress=lambda r: print(r, flush=True))
    minutes = (time.monotonic() - started) / 60
    RESULTS.mkdir(exist_ok=True)
    data = json.loads(result.json_path.read_text())
    data["runtime_minutes"] = round(minutes, 1)
    data["command"] = command_line()
    data["machine"] = host
    (RESULTS / "selftest.json").write_text(json.dumps(data, indent=2))
    per_class = ["| tool | class | runs | detected | median requests to 1st failure | median s |", "|---|---|---|---|---|---|"]
    for tool, classes in result.summary.items():
        for name, c in classes.items():
            per_class.append(f"| {tool} | {name} | {c['runs']} | {c['detected']} | "
                             f"{c['median_requests_to_failure']} | {c['median_seconds_to_failure']} |")
    (RESULTS / "selftest.md").write_text(
        f"# Selftest detection ({args.seeds} seed(s), {args.max_examples} examples, {args.max_time:g}s per run)\n\n"
        f"Command: `{data['command']}` ({minutes:.1f} min)  \nCommit: {host['commit']}  \n"
        f"Machine: {host['cores']} cores ({host['cpu_model']}), Python {host['python']}; {load_note(host)}\n\nDetection {result.detection_rate:.0%}, plain "
        f"schemathesis {result.baseline_rate if result.baseline_rate is None else format(result.baseline_rate, '.0%')}, "
        f"correct server clean: {result.correct_server_clean}.\n\n"
        f"Plain-schemathesis false positives on the correct server (excluded from its faulty runs): "
        f"{data.get('baseline_false_positive_checks')}\n\n"
        + "\n".join(per_class) + "\n\n" + markdown(result))
    print((RESULTS / "selftest.md").read_text())


if __name__ == "__main__":
    main()
