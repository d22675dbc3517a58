"""`talon-harness selftest --api v2` as a bench: every v2 fault (refserver.faults.V2_FAULTS, D36) x N seeds
against `check --api v2` (its witness phase, then schemathesis with the v2 rules; a short v2 load for the
performance fault and the correct server), the correct v2 server beside them. The same run as
``talon-harness selftest --api v2 --seeds N [--no-baseline]``; writes bench/results/selftest_v2.{json,md}
(selftest_v2_baseline with the plain ``st run`` column).

    python bench/selftest_v2.py --seeds 2 --no-baseline
    python bench/selftest_v2.py --seeds 1                  # with plain `st run` on integration-v2.yaml beside it
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine as describe_machine
from bench._common import write_results
from talon_harness.harness._selftest_render import markdown
from talon_harness.harness.selftest import SelftestConfig, run_selftest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain `st run` column")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/talon-selftest-v2-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    config = SelftestConfig(seeds=args.seeds, baseline=not args.no_baseline, report_dir=args.work_dir, api="v2")
    started, clock = describe_machine(), time.monotonic()
    result = run_selftest(config, progress=lambda r: print(r, flush=True))
    minutes = (time.monotonic() - clock) / 60
    data = json.loads(result.json_path.read_text())
    data["runtime_minutes"] = round(minutes, 1)
    baseline = "-" if result.baseline_rate is None else f"{result.baseline_rate:.0%}"
    table = [
        (f"Equivalent CLI: `talon-harness selftest --api v2 --seeds {args.seeds}"
        f"{' --no-baseline' if args.no_baseline else ''}` ({minutes:.1f} min; {config.max_examples} examples and "
        f"{config.max_time:g} s per check, {config.load_seconds:g} s load)."),
        "",
        (f"{len(config.chosen_faults())} v2 faults x {args.seeds} seed(s): detection {result.detection_rate:.0%}, "
        f"plain schemathesis {baseline}, correct v2 server clean: {result.correct_server_clean}, "
        f"exit {result.exit_code}."),
        "",
        markdown(result),
    ]
    write_results("selftest_v2" if args.no_baseline else "selftest_v2_baseline", data, table, started=started)
    sys.exit(result.exit_code)


if __name__ == "__main__":
    main()
