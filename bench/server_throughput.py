"""Reference server vs a minimal in-memory Starlette app (bench/minimal_app.py), side by side, same run.

For each of `--runs` rounds, each target gets a fresh process pinned to core 0 (the generator runs on
core 1): a 1 s warm-up, then requests/s at saturation (wrk replaying the journey-mix corpus through
bench/wrk_replay.lua, or our closed-loop generator when wrk is absent), then an open-loop run at 50% of
that saturation rate (bench/_openloop.py: latencies from the due time, per endpoint) after `--settle` s of quiet. Figures are
medians over the rounds; the targets alternate within a round so machine noise hits both alike.

Every run replays fresh passes of the corpus (bench/_corpus.py: each pass has its own ids, so no request
lands on an entity an earlier one left in another state) and records the status of every answer; the
journey model's expected statuses for one pass are recorded beside them.

    python bench/server_throughput.py [--runs 5] [--seconds 5] [--connections 32] [--generator auto]
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import re
import shutil
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
from bench._corpus import Corpus, Replay, build_corpus, write_wrk_corpus
from bench._openloop import run_closed_loop, run_open_loop

SERVER_CORE, GENERATOR_CORE = 0, 1
LABELS = ("session", "profile")
TARGET_P99_MS = 5.0
TARGET_RATIO = 0.65


def _pin(core: int, nice: int = 0) -> Any:
    def pin() -> None:
        if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > core:
            os.sched_setaffinity(0, {core})
        if nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)

    return pin


def granian_refserver() -> Any:
    """The reference server's ASGI app on a Store at $BENCH_REFSERVER_DB (a granian --factory target)."""
    from talon_harness.refserver.app import create_app
    from talon_harness.refserver.config import ServerConfig
    from talon_harness.refserver.store import Store

    return create_app(Store(os.environ["BENCH_REFSERVER_DB"]), ServerConfig())


def _granian(target: str, port: int) -> list[str]:
    """granian serving `target` as uvicorn serves ours: one worker, uvloop, no access log, HTTP/1."""
    return [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--runtime-mode", "st", "--loop", "uvloop", "--http", "1", "--no-ws",
            "--log-level", "error", "--no-access-log", "--factory", target]


def _commands(port: int, workdir: Path) -> dict[str, list[str]]:
    refserver = [sys.executable, "-m", "talon_harness.refserver", "--quiet", "--port", str(port),
                 "--db", str(workdir / f"ref-{port}.db")]
    return {
        "refserver": refserver,
        "baseline": refserver,  # the same command, run from --baseline-dir
        "minimal": [sys.executable, str(ROOT / "bench" / "minimal_app.py"), "--port", str(port)],
        "minimal_durable": [sys.executable, str(ROOT / "bench" / "minimal_app.py"), "--port", str(port),
                            "--durable", str(workdir / f"durable-{port}.db")],
        "refserver_granian": _granian("bench.server_throughput:granian_refserver", port),
        "minimal_granian": _granian("bench.minimal_app:create_minimal_app", port),
    }


def _start(target: str, workdir: Path, baseline_dir: Path | None, nice: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    home = baseline_dir if target == "baseline" and baseline_dir is not None else ROOT
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(home), os.environ.get("PYTHONPATH")])),
           "BENCH_REFSERVER_DB": str(workdir / f"granian-{port}.db")}
    proc = subprocess.Popen(_commands(port, workdir)[target], cwd=home, env=env, preexec_fn=_pin(SERVER_CORE, nice),  # noqa: PLW1509 - no threads here
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{target} did not start listening on {port}")


def _tree(pid: int) -> list[psutil.Process]:
    """The server process and its children (a server may serve from worker processes)."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _Passes:
    """Hands out corpus passes no run has replayed yet (each pass has its own ids)."""

    def __init__(self, corpus: Corpus) -> None:
        self.n = len(corpus.requests)
        self.next = 0

    def take(self, sent: int) -> None:
        """The run that started at pass `self.next` sent `sent` requests: skip the passes it touched."""
        self.next += max(1, math.ceil(sent / self.n))


def _classes(statuses: dict[str, int]) -> dict[str, int]:
    out = {"2xx": 0, "4xx": 0, "5xx": 0, "other": 0}
    for status, count in statuses.items():
        key = f"{status[0]}xx"
        out[key if key in out else "other"] += count
    return out


def _wrk(port: int, corpus_file: Path, seconds: float, connections: int, first_pass: int,
         seed: int) -> dict[str, Any]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(ROOT / "bench" / "wrk_replay.lua"),
            f"http://127.0.0.1:{port}", "--", str(corpus_file), str(first_pass), str(seed)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, preexec_fn=_pin(GENERATOR_CORE)).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Socket errors: (.*)", out)
    line = re.search(r"^statuses: (.*)$", out, re.MULTILINE)
    statuses = dict(part.split("=") for part in line.group(1).split()) if line else {}  # type: ignore[union-attr]
    statuses = {k: int(v) for k, v in sorted(statuses.items())}
    return {"rps": rps, "requests": total, "sent_max": total + connections, "statuses": statuses,
            "classes": _classes(statuses), "non_2xx": total - _classes(statuses)["2xx"],
            "socket_errors": errors.group(1) if errors else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each saturation / open-loop run")
    ap.add_argument("--connections", type=int, default=32, help="saturation connections (open loop: 64)")
    ap.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds of quiet between the saturation run and the latency runs")
    ap.add_argument("--fixed-rates", default="",
                    help="comma list of extra open-loop rates (req/s) to measure latency at, e.g. 500,1000")
    ap.add_argument("--nice", type=int, default=0,
                    help="scheduling priority for server and generators (e.g. -10 as root on a shared machine)")
    ap.add_argument("--name", default="server_throughput", help="results file name (bench/results/<name>.*)")
    ap.add_argument("--targets", default="refserver,minimal",
                    help="comma list of refserver, minimal, minimal_durable (minimal plus the refserver's storage), "
                         "baseline (needs --baseline-dir), refserver_granian, minimal_granian (the same apps "
                         "under granian instead of uvicorn)")
    ap.add_argument("--baseline-dir", type=Path, default=None,
                    help="a checkout whose refserver/ runs as target 'baseline', e.g. from "
                         "`git archive <commit> refserver | tar -x -C DIR`")
    args = ap.parse_args()
    started = machine()
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    _pin(GENERATOR_CORE, args.nice)()  # this process runs the open loop; wrk inherits core and priority
    corpus = build_corpus(80_000)
    pairs = Replay(corpus)
    passes = _Passes(corpus)
    n = len(corpus.requests)
    targets = args.targets.split(",")
    fixed_rates = [float(r) for r in args.fixed_rates.split(",") if r]
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        workdir = Path(tmp)
        corpus_file = workdir / "corpus.bin"
        write_wrk_corpus(corpus, corpus_file)
        for round_no in range(args.runs):
            for target in targets if round_no % 2 == 0 else reversed(targets):
                proc, port = _start(target, workdir, args.baseline_dir, args.nice)
                try:
                    processes = _tree(proc.pid)
                    cpu_seconds = functools.partial(_cpu_seconds, processes)
                    if generator == "wrk":
                        warm = _wrk(port, corpus_file, 1, args.connections, passes.next, corpus.seed)
                        passes.take(warm["sent_max"])
                        cpu_before = cpu_seconds()
                        sat = _wrk(port, corpus_file, args.seconds, args.connections, passes.next, corpus.seed)
                        passes.take(sat["sent_max"])
                    else:
                        warm_run = run_closed_loop("127.0.0.1", port, pairs, LABELS, seconds=1,
                                                   connections=args.connections, offset=passes.next * n)
                        passes.take(warm_run.sent)
                        cpu_before = cpu_seconds()
                        closed = run_closed_loop("127.0.0.1", port, pairs, LABELS, seconds=args.seconds,
                                                 connections=args.connections, offset=passes.next * n)
                        passes.take(closed.sent)
                        sat = {"rps": closed.rate, "requests": closed.completed, "non_2xx": closed.non_2xx,
                               "statuses": closed.statuses, "classes": _classes(closed.statuses)}
                    cpu_used = cpu_seconds() - cpu_before
                    sat["server_cpu_us_per_request"] = cpu_used / sat["requests"] * 1e6 if sat["requests"] else 0.0
                    time.sleep(args.settle)  # let the saturation run's backlog (e.g. checkpoints) drain
                    half = run_open_loop("127.0.0.1", port, pairs, LABELS, rate=sat["rps"] / 2,
                                         seconds=args.seconds, offset=passes.next * n)
                    passes.take(half.sent)
                    fixed = {}
                    for rate in fixed_rates:
                        fixed[rate] = asdict(run_open_loop("127.0.0.1", port, pairs, LABELS, rate=rate,
                                                           seconds=args.seconds, offset=passes.next * n))
                        passes.take(fixed[rate]["sent"])
                finally:
                    _stop(proc)
                runs[target].append({"saturation": sat, "half_load": {**asdict(half), "classes": _classes(half.statuses)},
                                     "fixed_rates": {str(r): v for r, v in fixed.items()}})
                print(f"round {round_no + 1} {target}: {sat['rps']:.0f} req/s ({sat['server_cpu_us_per_request']:.0f} "
                      f"us CPU/request); at {half.rate:.0f}/s p50 {half.p50_ms:.2f} ms p99 {half.p99_ms:.2f} ms "
                      f"(statuses {sat['statuses']} / {half.statuses}, generator lag {half.max_send_lag_ms:.1f} ms)",
                      flush=True)
    summary = _summarise(runs)
    table = _table(summary, runs, generator, args, corpus)
    write_results(args.name, {
        "settings": {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "generator": generator, "corpus_requests": n,
                     "mean_body_bytes": corpus.mean_body_bytes, "server_core": SERVER_CORE,
                     "expected_statuses_per_pass": corpus.expected_statuses,
                     "expected_non_2xx_share": corpus.expected_non_2xx_share, "passes_replayed": passes.next,
                     "generator_core": GENERATOR_CORE},
        "summary": summary, "runs": runs,
        "targets": {"ratio_min": TARGET_RATIO, "p99_ms_max": TARGET_P99_MS},
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }, table, started=started)


def _spread(values: list[float]) -> float:
    """(max - min) / median, as a percentage: how noisy the rounds were."""
    mid = median(values)
    return 100.0 * (max(values) - min(values)) / mid if mid else 0.0


def _total_statuses(results: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for result in results:
        for status, count in result["statuses"].items():
            total[status] = total.get(status, 0) + count
    return dict(sorted(total.items()))


def _summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for target, rs in runs.items():
        rps = [r["saturation"]["rps"] for r in rs]
        answers = [r["saturation"] for r in rs] + [r["half_load"] for r in rs] + [
            f for r in rs for f in r["fixed_rates"].values()]
        statuses = _total_statuses(answers)
        summary[target] = {
            "statuses_saturation": _total_statuses([r["saturation"] for r in rs]),
            "statuses_all": statuses, "classes_all": _classes(statuses),
            "rps": median(rps), "rps_spread_pct": _spread(rps),
            "server_cpu_us_per_request": median(r["saturation"]["server_cpu_us_per_request"] for r in rs),
            "half_rate": median(r["half_load"]["rate"] for r in rs),
            "p50_ms": median(r["half_load"]["p50_ms"] for r in rs),
            "p99_ms": median(r["half_load"]["p99_ms"] for r in rs),
            "p99_ms_all": [r["half_load"]["p99_ms"] for r in rs],
            "service_p50_ms": median(r["half_load"]["service_p50_ms"] for r in rs),
            "service_p99_ms": median(r["half_load"]["service_p99_ms"] for r in rs),
            "max_send_lag_ms": median(r["half_load"]["max_send_lag_ms"] for r in rs),
            "per_endpoint": {
                label: {k: median(r["half_load"]["per_label"][label][k] for r in rs) for k in ("p50_ms", "p99_ms")}
                for label in LABELS
            },
        }
    for target, rs in runs.items():
        summary[target]["fixed_rates"] = {
            rate: {k: median(r["fixed_rates"][rate][k] for r in rs)
                   for k in ("p50_ms", "p99_ms", "service_p99_ms", "max_send_lag_ms")}
            for rate in rs[0]["fixed_rates"]
        }
    if "refserver" in summary and "minimal" in summary:
        ratios = [a["saturation"]["rps"] / b["saturation"]["rps"]
                  for a, b in zip(runs["refserver"], runs["minimal"], strict=True)]
        summary["ratio"] = median(ratios)
        summary["ratio_per_round"] = ratios
        summary["cpu_ratio"] = median(
            b["saturation"]["server_cpu_us_per_request"] / a["saturation"]["server_cpu_us_per_request"]
            for a, b in zip(runs["refserver"], runs["minimal"], strict=True))
        summary["ratio_met"] = summary["ratio"] >= TARGET_RATIO
        summary["p99_met"] = summary["refserver"]["p99_ms"] < TARGET_P99_MS
    if "minimal" in summary:
        summary["vs_minimal"] = {
            target: {"rps": median(a["saturation"]["rps"] / b["saturation"]["rps"]
                                   for a, b in zip(rs, runs["minimal"], strict=True)),
                     "cpu": median(b["saturation"]["server_cpu_us_per_request"]
                                   / a["saturation"]["server_cpu_us_per_request"]
                                   for a, b in zip(rs, runs["minimal"], strict=True))}
            for target, rs in runs.items() if target != "minimal"}
    return summary


def _table(summary: dict[str, Any], runs: dict[str, Any], generator: str, args: Any, corpus: Corpus) -> list[str]:
    body = corpus.mean_body_bytes
    lines = [
        (f"Journey mix (default weights), mean body {body:.0f} B; server on core {SERVER_CORE}, generator on "
         f"core {GENERATOR_CORE}; saturation: {generator} ({args.connections} connections, {args.seconds:g} s); "
         f"latency: open loop at 50% of that round's saturation, 64 connections, measured from the due time "
         f"(service = from the actual send; generator lag = how far our Python generator fell behind its "
         f"schedule, which the due-time latencies include). Medians of {args.runs} rounds; spread = "
         f"(max - min) / median of the saturation runs."),
        "",
        ("| server | req/s at saturation | spread | server CPU us/request | rate for latency | p50 ms | p99 ms | "
         "session p50/p99 | profile p50/p99 | service p50/p99 | generator lag ms |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for target in runs:
        s = summary[target]
        e = s["per_endpoint"]
        lines.append(
            f"| {target} | {s['rps']:.0f} | {s['rps_spread_pct']:.0f}% | {s['server_cpu_us_per_request']:.0f} | "
            f"{s['half_rate']:.0f} | {s['p50_ms']:.2f} | "
            f"{s['p99_ms']:.2f} | {e['session']['p50_ms']:.2f} / {e['session']['p99_ms']:.2f} | "
            f"{e['profile']['p50_ms']:.2f} / {e['profile']['p99_ms']:.2f} | "
            f"{s['service_p50_ms']:.2f} / {s['service_p99_ms']:.2f} | {s['max_send_lag_ms']:.1f} |")
    lines += ["", (f"Status of every answer (all runs and rounds; each run replays fresh corpus passes, so no id is "
                   f"reused; the journey model expects {100 * corpus.expected_non_2xx_share:.2f}% non-2xx "
                   f"(deliberate illegal transitions): {corpus.expected_statuses} per pass of "
                   f"{len(corpus.requests)}):"), "",
              "| server | answers | 2xx | 4xx | 5xx | non-2xx share | per status (saturation) | per status (all) |",
              "|---|---|---|---|---|---|---|---|"]
    for target in runs:
        s = summary[target]
        c = s["classes_all"]
        answers = sum(c.values())
        lines.append(f"| {target} | {answers} | {c['2xx']} | {c['4xx']} | {c['5xx']} | "
                     f"{100 * (answers - c['2xx']) / answers if answers else 0:.2f}% | {s['statuses_saturation']} | "
                     f"{s['statuses_all']} |")
    rates = list(summary[next(iter(runs))]["fixed_rates"])
    if rates:
        lines += ["", "Latency at fixed open-loop rates (medians; ms from the due time, service p99 from the send):", "",
                  "| server | " + " | ".join(f"{float(r):.0f}/s p50 / p99 / service p99" for r in rates) + " |",
                  "|---|" + "---|" * len(rates)]
        for target in runs:
            f = summary[target]["fixed_rates"]
            lines.append(f"| {target} | " + " | ".join(
                f"{f[r]['p50_ms']:.2f} / {f[r]['p99_ms']:.2f} / {f[r]['service_p99_ms']:.2f}" for r in rates) + " |")
    if "ratio" in summary:
        lines += ["", f"**refserver / minimal = {summary['ratio']:.2f}** (target >= {TARGET_RATIO}: "
                      f"{'met' if summary['ratio_met'] else 'missed'}); refserver p99 at half load "
                      f"{summary['refserver']['p99_ms']:.2f} ms (target < {TARGET_P99_MS} ms: "
                      f"{'met' if summary['p99_met'] else 'missed'}). Per-round ratios: "
                      + ", ".join(f"{r:.2f}" for r in summary["ratio_per_round"]) + ". "
                      f"By server CPU per request (steadier on a shared machine): minimal / refserver = "
                      f"{summary['cpu_ratio']:.2f}."]
    others = {t: r for t, r in summary.get("vs_minimal", {}).items() if t != "refserver" or "ratio" not in summary}
    if others:  # the refserver's own ratios are in the line above
        lines += ["", "Each other server against minimal, median of per-round ratios (req/s at saturation; minimal's "
                      "server CPU per request / this one's): " + "; ".join(
                          f"{target} {r['rps']:.2f} / {r['cpu']:.2f}" for target, r in others.items()) + "."]
    return lines


if __name__ == "__main__":
    main()
