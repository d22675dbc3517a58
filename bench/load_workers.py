"""Worker scaling: requests per second of the load generator with 1 and 2 Locust workers, each a separate
process (a `--master` run plus `--worker` processes, as on separate hosts), against the canned server.

The target is bench/load_canned_server.py (one real IntegrationState body for every PUT), so the
generator is the bottleneck. Closed model without think time: ``--users`` users per worker walk the
default journey mix (minus illegal_transition) as fast as answers come. Per run: the master's
achieved requests/s (its summary.json, from the merged histograms), the CPU seconds of the master and
its workers (getrusage of the reaped children, start-up included), the workers' CPU during the run alone
(psutil, sampled every 0.2 s, from the master's spawn to the end of its measured duration: the share of
a core each worker got, and requests per worker CPU-second), the canned server's CPU, the machine's CPU.
Rounds alternate 1 and 2 workers, so drift in machine load hits both alike.

    python bench/load_workers.py [--seconds 10] [--rounds 3] [--users 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port, machine, median, write_results
from bench.load_efficiency import MIX, _canned
from talon_harness.loadtests import LoadConfig, build_argv
from talon_harness.loadtests.run import build_worker_argv, child_env


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class _CpuSampler(threading.Thread):
    """Every 0.2 s: (epoch, CPU seconds of ``procs`` so far); dead processes keep their last value."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.procs = [psutil.Process(p) for p in pids]
        self.last = [0.0] * len(pids)
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            for i, p in enumerate(self.procs):
                try:
                    self.last[i] = sum(p.cpu_times()[:2])
                except psutil.Error:
                    pass
            self.samples.append((time.time(), sum(self.last)))

    def at(self, t: float) -> float:
        """CPU seconds at the last sample taken at or before ``t``."""
        before = [cpu for when, cpu in self.samples if when <= t]
        return before[-1] if before else 0.0


def _spawn_time(log: Path) -> float:
    """Epoch of the master's first "Sending spawn jobs" line: the test starts there."""
    for line in log.read_text(errors="replace").splitlines():
        if "Sending spawn jobs" in line and (m := re.match(r"\[(.+?)\]", line)):
            return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
    raise RuntimeError(f"no spawn line in {log}")


def _run(base_url: str, server: psutil.Process, workers: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    report = tmp / f"run-{workers}-{os.urandom(3).hex()}"
    config = LoadConfig(base_url=base_url, users=args.users * workers, spawn_rate=float(args.users * workers),
                        duration_s=args.seconds, think_scale=0.0, journey_weights=MIX, report_dir=report,
                        master=True, expect_workers=workers, master_port=free_port())
    report.mkdir()
    cpu0, server0 = _children_cpu_s(), sum(server.cpu_times()[:2])
    psutil.cpu_percent(None)
    with open(report / "locust.log", "wb") as log:
        master = subprocess.Popen(build_argv(config), cwd=report, env=child_env(config), stdout=log,
                                  stderr=subprocess.STDOUT)
        procs = []
        for i in range(workers):
            private = report / f"w{i}"
            private.mkdir()
            procs.append(subprocess.Popen(build_worker_argv(config), cwd=private, env={**child_env(config), "TMPDIR": str(private)},
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        sampler = _CpuSampler([p.pid for p in procs])
        sampler.start()
        master.wait(timeout=args.seconds + 120)
        for p in procs:
            p.wait(timeout=60)
        sampler.done.set()
        sampler.join()
    machine_cpu = psutil.cpu_percent(None)
    summary = json.loads((report / "summary.json").read_text())
    start = _spawn_time(report / "locust.log")
    in_run = sampler.at(start + summary["duration_s"]) - sampler.at(start)
    return {
        "workers": workers,
        "requests": summary["endpoints"]["overall"]["requests"],
        "failures": summary["endpoints"]["overall"]["failures"],
        "duration_s": summary["duration_s"],
        "requests_per_s": summary["rate"]["achieved_requests_per_s"],
        "per_worker_requests": sorted(s["requests"] for s in summary["workers"].values()),
        "generator_cpu_s": _children_cpu_s() - cpu0,
        "workers_cpu_in_run_s": in_run,
        "core_share_per_worker": in_run / (workers * summary["duration_s"]),
        "requests_per_worker_cpu_s": summary["endpoints"]["overall"]["requests"] / in_run if in_run else 0.0,
        "server_cpu_s": sum(server.cpu_times()[:2]) - server0,
        "machine_cpu_percent": machine_cpu,
        "master_exit_code": master.returncode,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--users", type=int, default=10, help="users per worker")
    args = ap.parse_args()
    started = machine()
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    with _canned() as base_url, tempfile.TemporaryDirectory(prefix="talon-bench-workers-") as tmp:
        server = next(c for c in psutil.Process().children() if "load_canned_server.py" in " ".join(c.cmdline()))
        for _ in range(args.rounds):
            for n in (1, 2):
                runs[n].append(_run(base_url, server, n, args, Path(tmp)))
                print(json.dumps(runs[n][-1]), flush=True)
    med = {n: median(r["requests_per_s"] for r in rs) for n, rs in runs.items()}
    ratios = [b["requests_per_s"] / a["requests_per_s"] for a, b in zip(runs[1], runs[2], strict=True)]
    table = [
        ("| workers | requests/s per round | median requests/s | share of a core per worker (in the run) "
         "| requests per worker CPU-s | CPU s, master + workers incl. start-up | canned server CPU s "
         "| machine CPU % | requests per worker (last round) |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n, rs in runs.items():
        table.append(
            f"| {n} | {' / '.join(format(r['requests_per_s'], '.0f') for r in rs)} | {med[n]:.0f} "
            f"| {' / '.join(format(r['core_share_per_worker'], '.2f') for r in rs)} "
            f"| {' / '.join(format(r['requests_per_worker_cpu_s'], '.0f') for r in rs)} "
            f"| {' / '.join(format(r['generator_cpu_s'], '.1f') for r in rs)} "
            f"| {' / '.join(format(r['server_cpu_s'], '.1f') for r in rs)} "
            f"| {' / '.join(format(r['machine_cpu_percent'], '.0f') for r in rs)} | {rs[-1]['per_worker_requests']} |"
        )
    table += [
        "",
        (f"Per-round ratios 2 workers / 1 worker: {', '.join(format(x, '.2f') for x in ratios)}; "
        f"**median {median(ratios):.2f}x** ({args.users} users per worker, closed model, no think time, "
        f"{args.seconds:g} s per run)."),
    ]
    write_results("load_workers", {"settings": vars(args), "runs": {str(k): v for k, v in runs.items()},
                                   "median_requests_per_s": {str(k): v for k, v in med.items()},
                                   "round_ratios": ratios, "ratio": median(ratios)}, table, started=started)


if __name__ == "__main__":
    main()
