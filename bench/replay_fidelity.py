"""Replay fidelity: record a `load` run through the proxy, replay it at 1x and 10x against fresh servers.

1. A fresh reference server behind `talon-harness proxy --record` (in this process, a thread); an open-model
   `load` run (`--rate` journeys/s for `--seconds`) through it.
2. For each speed: a fresh reference server, `load --replay` (run_load with the recording); the replay's
   own counts: scheduling lateness (actual send minus recorded offset / speed, HDR, every request) and the
   status-match rate against the recording.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, machine, write_results
from talon_harness.harness.proxy import ProxyConfig, run_proxy
from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.replay import load_traffic
from talon_harness.loadtests.run import LoadResult, run_load
from talon_harness.refserver import ServerProcess


def _summary(result: LoadResult) -> dict[str, Any]:
    """The run's summary.json (the typed outcome plus the report-only keys, e.g. ``replay``)."""
    assert result.summary_path is not None, result.problems
    return json.loads(result.summary_path.read_text(encoding="utf-8"))



def _record(tmp: Path, rate: float, seconds: float) -> tuple[Path, int]:
    record = tmp / "load.ndjson"
    with ServerProcess(quiet=True) as server:
        ports: list[int] = []
        stop = threading.Event()
        config = ProxyConfig(upstream=server.base_url, port=0, record=record, report_dir=tmp / "proxy", fresh=True)
        thread = threading.Thread(target=run_proxy, kwargs={"config": config, "emit": lambda _: None,
                                                             "ready": ports.append, "stop": stop}, daemon=True)
        thread.start()
        while not ports:
            time.sleep(0.01)
        result = run_load(LoadConfig(base_url=f"http://127.0.0.1:{ports[0]}", rate=rate, duration_s=seconds,
                                     report_dir=tmp / "load", seed=7))
        stop.set()
        thread.join(30)
    if result.summary_path is None:
        raise SystemExit(f"the recorded load run failed: {result.breaches}")
    return record, _summary(result)["endpoints"]["overall"]["requests"]


def _replay(record: Path, tmp: Path, speed: float) -> dict[str, Any]:
    span_s = load_traffic(record)[-1].offset_ms / 1000.0
    with ServerProcess(quiet=True) as fresh:
        result = run_load(LoadConfig(base_url=fresh.base_url, users=1, spawn_rate=1.0, duration_s=span_s / speed + 3,
                                     report_dir=tmp / f"replay-{speed:g}x", replay=record, replay_speed=speed))
    replay = _summary(result)["replay"]
    return {"speed": speed, "passed": result.passed, "sent": replay["sent"], "matched": replay["status_matched"],
            "mismatches": replay["mismatches"], "match_rate": replay["status_matched"] / replay["sent"],
            "lateness_ms": replay["lateness_ms"], "late_over_50ms": _summary(result)["arrivals"]["late"],
            "service_p99_ms": _summary(result)["endpoints"]["overall"]["latency_ms"]["raw"]["p99"],
            "achieved_rps": _summary(result)["rate"]["achieved_requests_per_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the recorded load run")
    ap.add_argument("--rate", type=float, default=5.0, help="journeys per second in the recorded run")
    ap.add_argument("--speeds", default="1,5,10")
    args = ap.parse_args()
    started = machine()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], check=False, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        record, load_requests = _record(Path(tmp), args.rate, args.seconds)
        entries = load_traffic(record)
        rows = [_replay(record, Path(tmp), float(s)) for s in args.speeds.split(",")]
    span_s = entries[-1].offset_ms / 1000.0
    table = [
        (f"Recording: a {args.seconds:g} s open-model `load` run ({args.rate:g} journeys/s, think times on) through "
        f"`talon-harness proxy --record`: {len(entries)} exchanges over {span_s:.1f} s (the load run counted "
        f"{load_requests}). Each replay against a fresh reference server. Commit `{commit[:12]}`."),
        "",
        "| speed | requests | statuses as recorded | lateness p50 ms | p90 | p99 | max | late > 50 ms | service p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(f"| {r['speed']:g}x | {r['sent']} | {r['matched']} ({r['match_rate']:.1%}) | "
          f"{r['lateness_ms']['p50']:.2f} | {r['lateness_ms']['p90']:.2f} | {r['lateness_ms']['p99']:.2f} | "
          f"{r['lateness_ms']['max']:.2f} | {r['late_over_50ms']} | {r['service_p99_ms']:.2f} |" for r in rows),
        "",
        "Lateness: actual send minus the recorded offset divided by the speed (every request, HDR).",
    ]
    write_results("replay_fidelity", {"commit": commit, "settings": vars(args), "recorded_exchanges": len(entries),
                                      "recorded_span_s": span_s, "load_requests": load_requests, "replays": rows,
                                      "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
                  table, started=started)


if __name__ == "__main__":
    main()
