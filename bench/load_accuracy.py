"""Percentile error of our HDR recorder against exact per-request values (target: at most 1%), with
stock Locust's bucketed percentiles beside it for contrast. One Locust run of our journeys against the
reference server; a probe keeps every exact response time as Locust measured it (ms floats).

    python bench/load_accuracy.py [--seconds 10] [--users 10] [--workers 0]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hdrh.histogram import HdrHistogram

from bench.load_common import run_probed, write
from talon_harness.loadtests import LoadConfig, build_argv
from talon_harness.refserver import ServerProcess

PCTS = (50.0, 90.0, 95.0, 99.0, 99.9)


def exact(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[max(1, math.ceil(p / 100.0 * len(sorted_ms))) - 1]


def locust_stock(entries: list[dict], p: float) -> float:
    """Locust 2.47's calculate_response_time_percentile on the merged bucket dicts of every row."""
    buckets: dict[int, int] = {}
    for e in entries:
        for k, v in e["response_times"].items():
            buckets[int(float(k))] = buckets.get(int(float(k)), 0) + v
    n = sum(buckets.values())
    done = 0
    for rt in sorted(buckets, reverse=True):
        done += buckets[rt]
        if n - done <= int(n * p / 100.0):
            return float(rt)
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--users", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(quiet=True) as server:
        rd = Path(tmp)
        argv = build_argv(
            LoadConfig(
                base_url=server.base_url,
                users=args.users,
                duration_s=args.seconds,
                think_scale=0.0,
                spawn_rate=float(args.users),
                report_dir=rd,
            )
        )
        probe = run_probed(argv, exact=True)
        hdr_doc = json.loads((rd / "hdr.json").read_text())
        locust_entries = json.loads((rd / "locust.json").read_text())
    total = HdrHistogram(1, 3_600_000_000, 3)
    for enc in hdr_doc["raw"].values():
        total.decode_and_add(enc.encode())
    values = sorted(probe["exact_ms"])
    rows, worst = [], 0.0
    for p in PCTS:
        want = exact(values, p)
        ours = total.get_value_at_percentile(p) / 1000.0
        stock = locust_stock(locust_entries, p)
        err, stock_err = abs(ours - want) / want, abs(stock - want) / want
        worst = max(worst, err)
        rows.append(
            {
                "percentile": p,
                "exact_ms": want,
                "hdr_ms": ours,
                "hdr_error": err,
                "locust_ms": stock,
                "locust_error": stock_err,
            }
        )
    table = [
        "| percentile | exact (ms) | HDR (ms) | HDR error | stock Locust (ms) | Locust error |",
        "|---|---|---|---|---|---|",
    ]
    table += [
        f"| p{r['percentile']:g} | {r['exact_ms']:.3f} | {r['hdr_ms']:.3f} | {r['hdr_error']:.3%} | "
        f"{r['locust_ms']:g} | {r['locust_error']:.1%} |"
        for r in rows
    ]
    table += [
        "",
        (
            f"Samples: {len(values)} exact, {total.get_total_count()} in the HDR histograms. "
            f"**Worst HDR error {worst:.3%}** (target <= 1%)."
        ),
    ]
    write(
        "load_accuracy",
        {
            "settings": vars(args),
            "samples": len(values),
            "hdr_samples": total.get_total_count(),
            "rows": rows,
            "worst_hdr_error": worst,
            "target": 0.01,
            "passed": worst <= 0.01,
        },
        table,
    )


if __name__ == "__main__":
    main()
