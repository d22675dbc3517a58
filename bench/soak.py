"""Soak: a long open-model `load` against the reference server on loopback, recorded per minute.

One reference server (its own SQLite file) and one Locust process running the project's locustfile
exactly as `talon-harness load --rate R --duration D` would (``loadtests.build_argv``), plus
bench/soak_probe.py, which writes per window: requests, failures, status classes, HDR percentiles and
the generator's RSS. This script samples, per window, the server's RSS, the database's size (main file
and WAL) and its row counts (profiles, sessions, events: the entities the load created).

"Flat" (judged on the windows after the first ``--warmup`` ones; the verdict is in the result):
- memory: server and generator RSS each grow by less than ``RSS_GROWTH_MB`` between the end of the
  warm-up and the last window (a leak of 100 bytes per request at 200 req/s would be ~24 MB per 20 min);
- latency: the median p99 of the last third of the windows is within ``P99_DRIFT`` times the median
  p99 of the first third (drift with a growing database), and each window's p99 is reported against the
  median window (the machine is shared: a neighbour's benchmark shows as a single-window spike);
- throughput: each window's request count within ``RATE_BAND`` of the median window (open model: the
  rate is the plan's, whatever the server does), and no 5xx at all;
- database: bytes per stored entity (main file / rows) at the end within ``DB_BYTES_BAND`` of its value
  at the end of the warm-up, i.e. the file grows with new entities only.

    python bench/soak.py [--minutes 30] [--rate 45] [--connections 10] [--window 60] [--warmup 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, machine, median, write_results
from talon_harness.loadtests import LoadConfig, build_argv
from talon_harness.loadtests.run import child_env
from talon_harness.refserver import ServerProcess

PROBE = ROOT / "bench" / "soak_probe.py"
RSS_GROWTH_MB = 20.0
P99_DRIFT = 1.5
RATE_BAND = 0.10
DB_BYTES_BAND = 0.25


def _tree_rss_mb(proc: psutil.Process) -> float:
    total = 0
    for p in (proc, *proc.children(recursive=True)):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def _server_process() -> psutil.Process:
    """The refserver child of this process (ServerProcess starts `python -m talon_harness.refserver`)."""
    for child in psutil.Process().children():
        if "talon_harness.refserver" in " ".join(child.cmdline()):
            return child
    raise RuntimeError("no refserver child process")


def _db_facts(db: Path) -> dict[str, Any]:
    wal = db.with_name(db.name + "-wal")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0)
    try:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("profiles", "sessions", "events")}
    finally:
        conn.close()
    return {
        "db_mb": db.stat().st_size / 2**20,
        "wal_mb": wal.stat().st_size / 2**20 if wal.exists() else 0.0,
        "rows": rows,
        "entities": sum(rows.values()),
    }


def _run(args: argparse.Namespace, work: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    probe_out = work / "probe.ndjson"
    report_dir = work / "report"
    report_dir.mkdir()
    samples: list[dict[str, Any]] = []
    with ServerProcess(quiet=True, db=work / "soak.db") as server:
        server_proc = _server_process()
        config = LoadConfig(base_url=server.base_url, rate=args.rate, duration_s=args.minutes * 60.0,
                            report_dir=report_dir, seed=args.seed, connections=args.connections)
        argv = build_argv(config)
        i = argv.index("-f") + 1
        argv[i] = f"{argv[i]},{PROBE}"
        env = {**child_env(config), "SOAK_PROBE_OUT": str(probe_out), "SOAK_WINDOW_S": str(args.window)}
        with open(report_dir / "locust.log", "wb") as log:
            gen = subprocess.Popen(argv, cwd=report_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
            gen_proc = psutil.Process(gen.pid)
            started = time.perf_counter()
            server_cpu = sum(server_proc.cpu_times()[:2])
            index = 0
            while gen.poll() is None:
                index += 1
                time.sleep(max(0.0, started + index * args.window - time.perf_counter()))
                if gen.poll() is not None:
                    break
                cpu = sum(server_proc.cpu_times()[:2])
                samples.append({
                    "window": index,
                    "server_cpu_s": cpu - server_cpu,
                    "server_rss_mb": _tree_rss_mb(server_proc),
                    "generator_tree_rss_mb": _tree_rss_mb(gen_proc),
                    **_db_facts(server.db),
                    "loadavg": list(os.getloadavg()),
                })
                server_cpu = cpu
                print(json.dumps(samples[-1]), flush=True)
            gen.wait()
    probes = [json.loads(line) for line in probe_out.read_text().splitlines()] if probe_out.exists() else []
    summary = json.loads((report_dir / "summary.json").read_text()) if (report_dir / "summary.json").exists() else {}
    return samples, probes, {"locust_exit_code": gen.returncode, "summary": summary}


def _judge(rows: list[dict[str, Any]], warmup: int) -> dict[str, Any]:
    """The flatness checks of the module docstring over ``rows`` (one per window, windows in order)."""
    steady = [r for r in rows if r["window"] > warmup]
    base, last = steady[0], steady[-1]
    third = max(1, len(steady) // 3)
    p99 = [r["latency_ms"]["p99"] for r in steady]
    corrected = [r["corrected_ms"]["p99"] for r in steady]
    med_req = median(r["requests"] for r in steady)
    p99_first, p99_last, p99_med = median(p99[:third]), median(p99[-third:]), median(p99)
    bytes_per_entity = [r["db_mb"] * 2**20 / max(1, r["entities"]) for r in (base, last)]
    checks = {
        "server_rss_growth_mb": last["server_rss_mb"] - base["server_rss_mb"],
        "generator_rss_growth_mb": last["generator_tree_rss_mb"] - base["generator_tree_rss_mb"],
        "p99_first_third_ms": p99_first,
        "p99_last_third_ms": p99_last,
        "p99_drift": p99_last / p99_first if p99_first else float("inf"),
        "p99_median_window_ms": p99_med,
        "p99_worst_window_ms": max(p99),
        "windows_p99_over_3x_median": sum(v > 3 * p99_med for v in p99),
        "corrected_p99_first_third_ms": median(corrected[:third]),
        "corrected_p99_last_third_ms": median(corrected[-third:]),
        "corrected_p99_median_window_ms": median(corrected),
        "corrected_p99_worst_window_ms": max(corrected),
        "requests_median_window": med_req,
        "requests_worst_deviation": max(abs(r["requests"] - med_req) / med_req for r in steady),
        "status_5xx": sum(r["statuses"].get("5xx", 0) for r in rows),
        "transport_errors": sum(r["statuses"].get("transport", 0) for r in rows),
        "db_bytes_per_entity": bytes_per_entity,
        "db_bytes_per_entity_change": bytes_per_entity[1] / bytes_per_entity[0] - 1.0,
    }
    held = {
        "memory": checks["server_rss_growth_mb"] < RSS_GROWTH_MB and checks["generator_rss_growth_mb"] < RSS_GROWTH_MB,
        "latency": checks["p99_drift"] <= P99_DRIFT,
        "throughput": checks["requests_worst_deviation"] <= RATE_BAND and checks["status_5xx"] == 0,
        "database": abs(checks["db_bytes_per_entity_change"]) <= DB_BYTES_BAND,
    }
    return {"checks": checks, "held": held, "flat": all(held.values())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=45.0, help="journeys per second (open model)")
    ap.add_argument("--window", type=float, default=60.0, help="seconds per recorded window")
    ap.add_argument("--warmup", type=int, default=10, help="windows before the memory/db baseline")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--connections", type=int, default=LoadConfig.connections,
                    help="open model: client connections carrying the arrivals (load --connections)")
    ap.add_argument("--name", default="soak", help="result file name in bench/results/")
    args = ap.parse_args()
    started = machine()
    with tempfile.TemporaryDirectory(prefix="talon-soak-") as tmp:
        samples, probes, run = _run(args, Path(tmp))
    by_window = {p["window"]: p for p in probes}
    rows = [{**s, **by_window[s["window"]]} for s in samples if s["window"] in by_window]
    verdict = _judge(rows, args.warmup)
    c = verdict["checks"]
    table = [
        (f"{args.connections} client connections. The machine has 2 cores; its load average per window is in the "
         "table (anything else running at the time shows there)."),
        "",
        ("| min | req | 2xx | 4xx | 5xx | fail | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | corrected p99 ms "
         "| corrected p99.9 ms | server RSS MB | generator RSS MB | server CPU % | generator CPU % | DB MB "
         "| WAL MB | entities | load avg |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lat, st = r["latency_ms"], r["statuses"]
        table.append(
            f"| {r['window'] * args.window / 60:g} | {r['requests']} | {st.get('2xx', 0)} | {st.get('4xx', 0)} "
            f"| {st.get('5xx', 0)} | {r['failures']} | {lat['p50']:.2f} | {lat['p95']:.2f} | {lat['p99']:.2f} "
            f"| {lat['p99.9']:.2f} | {lat['max']:.1f} | {r['corrected_ms']['p99']:.2f} | {r['corrected_ms']['p99.9']:.2f} "
            f"| {r['server_rss_mb']:.1f} | {r['generator_tree_rss_mb']:.1f} | {100 * r['server_cpu_s'] / args.window:.0f} "
            f"| {100 * r['generator_cpu_s'] / args.window:.0f} "
            f"| {r['db_mb']:.1f} | {r['wal_mb']:.1f} | {r['entities']} | {r['loadavg'][0]:.2f} |"
        )
    table += [
        "",
        (f"Flat means (after {args.warmup} warm-up windows): RSS growth < {RSS_GROWTH_MB:g} MB (server, generator); "
        f"median p99 of the last third <= {P99_DRIFT:g}x that of the first third; every window's requests "
        f"within {RATE_BAND:.0%} of the median window and 0 5xx; DB bytes per entity within {DB_BYTES_BAND:.0%}."),
        "",
        (f"- memory: server RSS {c['server_rss_growth_mb']:+.1f} MB, generator RSS "
        f"{c['generator_rss_growth_mb']:+.1f} MB -> {'held' if verdict['held']['memory'] else 'NOT held'}"),
        (f"- latency: p99 first third {c['p99_first_third_ms']:.2f} ms, last third {c['p99_last_third_ms']:.2f} ms "
        f"(x{c['p99_drift']:.2f}); median window {c['p99_median_window_ms']:.2f} ms, worst "
        f"{c['p99_worst_window_ms']:.2f} ms, {c['windows_p99_over_3x_median']} window(s) over 3x the median "
        f"-> {'held' if verdict['held']['latency'] else 'NOT held'}"),
        (f"- corrected latency (not gated: it adds the generator's own waits, on a shared machine): p99 first "
         f"third {c['corrected_p99_first_third_ms']:.2f} ms, last third {c['corrected_p99_last_third_ms']:.2f} ms, "
         f"median window {c['corrected_p99_median_window_ms']:.2f} ms, worst {c['corrected_p99_worst_window_ms']:.2f} ms"),
        (f"- throughput: median {c['requests_median_window']:.0f} requests per window, worst deviation "
        f"{c['requests_worst_deviation']:.1%}; {c['status_5xx']} 5xx, {c['transport_errors']} transport errors "
        f"-> {'held' if verdict['held']['throughput'] else 'NOT held'}"),
        (f"- database: {c['db_bytes_per_entity'][0]:.0f} -> {c['db_bytes_per_entity'][1]:.0f} bytes per entity "
        f"({c['db_bytes_per_entity_change']:+.1%}) -> {'held' if verdict['held']['database'] else 'NOT held'}"),
        "",
        f"**Flat: {'yes' if verdict['flat'] else 'no'}.** Locust exit code {run['locust_exit_code']}; the run's own "
        f"verdict (default SLOs): {'passed' if run['summary'].get('passed') else 'breached'}"
        + "".join(f"; {b}" for b in run["summary"].get("breaches", [])) + ".",
    ]
    write_results(args.name, {"settings": vars(args), "windows": rows, "verdict": verdict,
                              "locust_exit_code": run["locust_exit_code"], "summary": run["summary"]},
                  table, started=started)


if __name__ == "__main__":
    main()
