"""Requests per CPU-second of the load generator: our journeys (TalonUser) vs a bare FastHttpUser loop of
the same 5 PUTs, each in one Locust process against the reference server. Target: ratio >= 0.9.
"Ours" runs coupon_hunter journeys (the bare loop's PUTs are that journey's first five); the default
mix is reported too.

    python bench/load_efficiency.py [--seconds 10] [--users 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_common import ROOT, run_probed, write
from loadtests import LoadConfig, build_argv
from refserver import ServerProcess


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    results: dict[str, list[dict]] = {"journeys_same_puts": [], "bare": [], "journeys_mix": []}
    with ServerProcess(quiet=True) as server:

        def ours(weights: dict[str, int] | None) -> list[str]:
            return build_argv(
                LoadConfig(
                    base_url=server.base_url,
                    users=args.users,
                    duration_s=args.seconds,
                    think_scale=0.0,
                    spawn_rate=float(args.users),
                    journey_weights=weights,
                    report_dir=Path("/tmp/talon-bench-eff"),
                )
            )

        bare = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "load_bare_locustfile.py"),
            "--headless",
            "--host",
            server.base_url,
            "-u",
            str(args.users),
            "-r",
            str(args.users),
            "-t",
            f"{args.seconds}s",
            "--only-summary",
        ]
        for _ in range(args.rounds):  # alternate, so drift in machine load hits both alike
            for label, argv in (
                ("journeys_same_puts", ours({"coupon_hunter": 1})),
                ("bare", bare),
                ("journeys_mix", ours(None)),
            ):
                probe = run_probed(argv)
                probe.pop("exact_ms")
                probe["requests_per_cpu_s"] = probe["requests"] / probe["cpu_s"] if probe["cpu_s"] else 0.0
                results[label].append(probe)
    med = {k: statistics.median(r["requests_per_cpu_s"] for r in v) for k, v in results.items()}
    ratio = med["journeys_same_puts"] / med["bare"] if med["bare"] else 0.0
    ratio_mix = med["journeys_mix"] / med["bare"] if med["bare"] else 0.0
    table = [
        "| generator | requests | CPU s | mean response bytes | requests / CPU-s (median) |",
        "|---|---|---|---|---|",
    ]
    for k, runs in results.items():
        mean_bytes = sum(r["response_bytes"] for r in runs) / max(1, sum(r["requests"] for r in runs))
        table.append(
            f"| {k} | {' / '.join(str(r['requests']) for r in runs)} | "
            f"{' / '.join(format(r['cpu_s'], '.2f') for r in runs)} | {mean_bytes:.0f} | {med[k]:.0f} |"
        )
    table += [
        "",
        (
            f"**ratio journeys / bare = {ratio:.3f}** (target >= 0.9): coupon_hunter journeys (the same "
            "profile + session PUTs as the bare loop, plus its closing PUT), with journey generation, 5% "
            "sampled contract validation and the HDR recorder; think time 0."
        ),
        f"Default journey mix / bare = {ratio_mix:.3f} (bigger carts and bodies than the bare loop's).",
    ]
    write(
        "load_efficiency",
        {
            "settings": vars(args),
            "runs": results,
            "median_requests_per_cpu_s": med,
            "ratio": ratio,
            "ratio_mix": ratio_mix,
            "target": 0.9,
            "passed": ratio >= 0.9,
        },
        table,
    )


if __name__ == "__main__":
    main()
