"""Requests per CPU-second of the load generator: our journeys (TalonUser) vs a bare FastHttpUser loop of
the same 5 PUTs (bench/load_bare_locustfile.py), each in one Locust process. Target: ratio >= 1.0.
"Ours" runs coupon_hunter journeys (the bare loop's PUTs are that journey's first five); the default
mix (without the journeys that expect 400s: illegal_transition, and on v2 retry) is reported too. By
default the target is bench/load_canned_server.py, which answers every PUT with the same real session
answer taken from the reference server (on v2 one IntegrationStateV2 body, which fits both v2 response
schemas, so sampled validation passes): the generator is then the bottleneck and both sides parse the
same bytes. ``--server refserver`` loads the reference server instead (server-bound, noisier). Both
sides write Locust's CSV/HTML/JSON reports, so the ratio measures our user code and plugin. ``--api v2``
measures ``load --api v2`` (results in load_v2_efficiency.*, issue 28 item 4).

    python bench/load_efficiency.py [--api v1|v2] [--seconds 10] [--users 10] [--rounds 3]
        [--server canned|refserver] [--warmup 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port
from bench.load_common import ROOT, run_probed, write
from talon_harness.loadtests import LoadConfig, build_argv
from talon_harness.loadtests.journeybook import DEFAULT_WEIGHTS, V2_DEFAULT_WEIGHTS
from talon_harness.loadtests.run import child_env
from talon_harness.refserver import ServerProcess

_CART = [
    {"name": "Shoe", "sku": "SKU-1", "quantity": 1, "price": 49.5},
    {"name": "Sock", "sku": "SKU-2", "quantity": 3, "price": 4.0},
]


@dataclass(frozen=True)
class Api:
    """What differs between the APIs measured: the default weights and the journeys left out of the mix (they
    expect 400s), the session whose answer the canned server repeats, the server revision that answers it,
    and the results' name."""

    name: str
    weights: dict[str, int]
    dropped: tuple[str, ...]
    session_path: str
    session: dict[str, Any]
    revision: str
    results: str

    @property
    def mix(self) -> dict[str, int]:
        return {k: w for k, w in self.weights.items() if k not in self.dropped}


APIS = {
    "v1": Api("v1", dict(DEFAULT_WEIGHTS), ("illegal_transition",), "/v1/customer_sessions/bench-s",
              {"profileId": "bench-p", "state": "open", "cartItems": _CART, "coupon": "SUMMER10"},
              "v1", "load_efficiency"),
    "v2": Api("v2", dict(V2_DEFAULT_WEIGHTS), ("illegal_transition", "retry"), "/v2/customer_sessions/bench-s",
              {"customerSession": {"profileId": "bench-p", "state": "open", "cartItems": _CART,
                                   "couponCodes": ["SUMMER10"], "additionalCosts": {"shipping": {"price": 4.9}}}},
              "v1-2021", "load_v2_efficiency"),
}
MIX = APIS["v1"].mix


@contextlib.contextmanager
def _canned(api: Api = APIS["v1"]) -> Iterator[str]:
    import httpx

    with ServerProcess(quiet=True, api=api.revision) as ref:
        body = httpx.put(ref.base_url + api.session_path, json=api.session).content
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(body)
        f.flush()
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "load_canned_server.py"), str(port), f.name]
        )
        try:
            time.sleep(1.0)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait()


@contextlib.contextmanager
def _refserver(api: Api) -> Iterator[str]:
    with ServerProcess(quiet=True, api=api.revision) as ref:
        yield ref.base_url


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", choices=tuple(APIS), default="v1")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--server", choices=("canned", "refserver"), default="canned")
    ap.add_argument(
        "--warmup", type=int, default=3, help="seconds of a discarded bare run before round 1 (0 = none)"
    )
    args = ap.parse_args()
    api = APIS[args.api]
    os.environ["TALON_BENCH_API"] = api.name  # the bare locustfile's API
    results: dict[str, list[dict]] = {"journeys_same_puts": [], "bare": [], "journeys_mix": []}
    with _canned(api) if args.server == "canned" else _refserver(api) as base_url:

        def ours(weights: dict[str, int]) -> tuple[list[str], dict[str, str]]:
            config = LoadConfig(
                base_url=base_url,
                users=args.users,
                duration_s=args.seconds,
                think_scale=0.0,
                spawn_rate=float(args.users),
                journey_weights=weights,
                report_dir=Path(f"/tmp/talon-bench-eff-{api.name}"),
                api=api.name,
            )
            return build_argv(config), child_env(config)

        bare = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "load_bare_locustfile.py"),
            "--headless",
            "--host",
            base_url,
            "-u",
            str(args.users),
            "-r",
            str(args.users),
            "-t",
            f"{args.seconds}s",
            "--only-summary",
            # the same Locust reports our runs write, so the ratio isolates our user code and plugin
            "--csv",
            f"/tmp/talon-bench-bare-{api.name}/locust",
            "--html",
            f"/tmp/talon-bench-bare-{api.name}/locust.html",
            "--json-file",
            f"/tmp/talon-bench-bare-{api.name}/locust",
        ]
        if args.warmup > 0:
            # the first run after the server starts is slower per CPU-second (e.g. 0.745 vs 0.827 / 0.860
            # in later rounds); it always fell on our journeys, so one short bare run absorbs it, unrecorded
            warm = list(bare)
            warm[warm.index("-t") + 1] = f"{args.warmup}s"
            run_probed(warm)
        for _ in range(args.rounds):  # alternate, so drift in machine load hits all alike
            for label, (argv, env) in (
                ("journeys_same_puts", ours({"coupon_hunter": 1})),
                ("bare", (bare, dict(os.environ))),
                ("journeys_mix", ours(api.mix)),
            ):
                probe = run_probed(argv, env=env)
                probe.pop("exact_ms")
                probe["requests_per_cpu_s"] = probe["requests"] / probe["cpu_s"] if probe["cpu_s"] else 0.0
                results[label].append(probe)
    med = {k: statistics.median(r["requests_per_cpu_s"] for r in v) for k, v in results.items()}
    pairs = [
        a["requests_per_cpu_s"] / b["requests_per_cpu_s"]
        for a, b in zip(results["journeys_same_puts"], results["bare"], strict=True)
    ]
    ratio = statistics.median(pairs)
    ratio_mix = statistics.median(
        a["requests_per_cpu_s"] / b["requests_per_cpu_s"]
        for a, b in zip(results["journeys_mix"], results["bare"], strict=True)
    )
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
            f"API: {api.name}. Server: {args.server}. Per-round ratios journeys / bare: "
            f"{', '.join(format(p, '.3f') for p in pairs)}."
        ),
        (
            f"**ratio journeys / bare = {ratio:.3f}** (median of rounds; target >= 1.0): coupon_hunter journeys "
            "(the bare loop's 5 PUTs, then the journey's last ones) with journey issuing, 5% sampled contract "
            "validation, the HDR recorder and per-request failure verdicts; think time 0."
        ),
        f"Default journey mix (minus {', '.join(api.dropped)}) / bare = {ratio_mix:.3f}.",
    ]
    write(
        api.results,
        {
            "settings": vars(args),
            "runs": results,
            "median_requests_per_cpu_s": med,
            "round_ratios": pairs,
            "ratio": ratio,
            "ratio_mix": ratio_mix,
            "target": 1.0,
            "passed": ratio >= 1.0,
        },
        table,
    )


if __name__ == "__main__":
    main()
