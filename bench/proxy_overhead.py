"""Proxy overhead on loopback: the same reference server measured directly and through `talon-harness proxy`.

One reference server; one proxy process in front of it (`talon-harness proxy --upstream`, judging every
exchange, not recording unless `--record`). Rounds alternate the order (direct, proxy / proxy, direct) so
that drift on a shared machine hits both. Each run: a closed-loop saturation run (max throughput, bench/
_openloop.py, `--connections`), then an open-loop run at `--rate` requests/s (latency from the due time,
so queueing counts). Requests are the realistic journey corpus (bench/_corpus.py); each run starts at a
new offset, so entities are new. Added latency = proxy minus direct, per percentile (medians over rounds).
Everything shares the machine's cores (server, proxy, generator): the throughput ratio is what a proxy
costs on such a box, not on a dedicated one.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, free_port, machine, median, write_results
from bench._corpus import build_corpus
from bench._openloop import run_closed_loop, run_open_loop
from talon_harness.refserver import ServerProcess

LABELS = ("session", "profile")


def _start_proxy(upstream: str, workdir: Path, record: bool) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    args = [sys.executable, "-m", "talon_harness.harness", "proxy", "--upstream", upstream, "--port", str(port),
            "--report-dir", str(workdir / "proxy-report")]
    if record:
        args += ["--record", str(workdir / "rec.ndjson"), "--max-bytes", str(2**30)]
    log = (workdir / "proxy.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the proxy did not start")


def _commit() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], check=False, capture_output=True, text=True, cwd=ROOT).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each saturation / open-loop run")
    ap.add_argument("--connections", type=int, default=16, help="saturation connections")
    ap.add_argument("--rate", type=float, default=150.0, help="open-loop requests/s for the latency runs")
    ap.add_argument("--record", action="store_true", help="the proxy also records every exchange")
    args = ap.parse_args()
    started = machine()
    corpus = build_corpus(150_000)
    pairs = [(raw, int(p)) for raw, p in zip(corpus.requests, corpus.is_profile, strict=True)]
    offset = 0
    runs: dict[str, list[dict[str, Any]]] = {"direct": [], "proxy": []}
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp, ServerProcess(quiet=True) as server:
        proxy, proxy_port = _start_proxy(server.base_url, Path(tmp), args.record)
        ports = {"direct": server.port, "proxy": proxy_port}
        try:
            run_closed_loop("127.0.0.1", proxy_port, pairs, LABELS, seconds=1, connections=args.connections,
                            offset=len(pairs) - 5000)  # warm both paths (schemas compiled, pools open)
            for round_no in range(args.rounds):
                for target in ("direct", "proxy") if round_no % 2 == 0 else ("proxy", "direct"):
                    cpu = psutil.Process(proxy.pid)
                    before = sum(cpu.cpu_times()[:2])
                    sat = run_closed_loop("127.0.0.1", ports[target], pairs, LABELS, seconds=args.seconds,
                                          connections=args.connections, offset=offset)
                    proxy_cpu = sum(cpu.cpu_times()[:2]) - before
                    offset += sat.sent + 100
                    time.sleep(1.0)
                    lat = run_open_loop("127.0.0.1", ports[target], pairs, LABELS, rate=args.rate,
                                        seconds=args.seconds, offset=offset)
                    offset += lat.sent + 100
                    runs[target].append({"saturation_rps": sat.rate, "saturation_non_2xx": sat.non_2xx,
                                         "saturation_p50_ms": sat.service_p50_ms,
                                         "proxy_cpu_us_per_request": proxy_cpu / sat.completed * 1e6
                                         if target == "proxy" and sat.completed else None,
                                         "latency": asdict(lat)})
                    print(f"round {round_no + 1} {target}: max {sat.rate:.0f} req/s; at {args.rate:.0f}/s "
                          f"p50 {lat.p50_ms:.2f} ms p99 {lat.p99_ms:.2f} ms (service p50 {lat.service_p50_ms:.2f}"
                          f" p99 {lat.service_p99_ms:.2f}; generator lag {lat.max_send_lag_ms:.1f} ms)", flush=True)
        finally:
            proxy.send_signal(2)
            try:
                proxy.wait(30)
            except subprocess.TimeoutExpired:
                proxy.kill()
    summary: dict[str, dict[str, float]] = {}
    for target, rows in runs.items():
        summary[target] = {
            "max_rps": median(r["saturation_rps"] for r in rows),
            "p50_ms": median(r["latency"]["p50_ms"] for r in rows),
            "p99_ms": median(r["latency"]["p99_ms"] for r in rows),
            "service_p50_ms": median(r["latency"]["service_p50_ms"] for r in rows),
            "service_p99_ms": median(r["latency"]["service_p99_ms"] for r in rows),
        }
    d, p = summary["direct"], summary["proxy"]
    added = {k: p[k] - d[k] for k in ("p50_ms", "p99_ms", "service_p50_ms", "service_p99_ms")}
    cpu_us = median(r["proxy_cpu_us_per_request"] for r in runs["proxy"])
    table = [
        (f"Proxy {'recording and ' if args.record else ''}judging every exchange; {args.rounds} rounds, "
        f"{args.seconds:g} s runs, {args.connections} connections for max throughput, latency at "
        f"{args.rate:g} req/s open loop (medians over rounds). Commit `{_commit()[:12]}`."),
        "",
        "| path | max req/s | p50 ms | p99 ms | service p50 ms | service p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
        *(f"| {t} | {s['max_rps']:.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['service_p50_ms']:.2f} | "
          f"{s['service_p99_ms']:.2f} |" for t, s in summary.items()),
        (f"| added by the proxy | {p['max_rps'] / d['max_rps']:.2f}x throughput | {added['p50_ms']:+.2f} | "
        f"{added['p99_ms']:+.2f} | {added['service_p50_ms']:+.2f} | {added['service_p99_ms']:+.2f} |"),
        "",
        f"Proxy CPU per request at saturation: {cpu_us:.0f} us (forwarding, judging{', recording' if args.record else ''}).",
        "Server, proxy and generator share the machine's cores; the load average below says how busy it was.",
    ]
    write_results("proxy_overhead_recording" if args.record else "proxy_overhead", {
        "commit": _commit(), "settings": vars(args), "summary": summary, "added": added,
        "throughput_ratio": p["max_rps"] / d["max_rps"], "proxy_cpu_us_per_request": cpu_us, "runs": runs,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }, table, started=started)


if __name__ == "__main__":
    main()
