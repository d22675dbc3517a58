"""Reference server throughput on the v2 journey mix vs the v1 one, side by side, same run.

The v1 corpus is the server benches' journey mix (bench/_corpus.py). The v2 corpus is the same journeys,
call for call, translated to v2 (`to_v2`): the same ids under /v2/, session bodies wrapped in
`customerSession` (coupon -> couponCodes, referral -> referralCode, total dropped: v2 computes it,
CartItem.adjustment dropped: v2 has none), profile bodies unchanged. Each round starts one fresh server
(`--api v1`, the seed revision the journeys are written for) pinned to core 0, warms it for 1 s per API,
then measures saturation with the closed-loop generator (bench/_openloop.py, `--connections`) for
`--seconds` on v1 and on v2, alternating which goes first. Figures are medians over the rounds; the
statuses of every answer are recorded (the journey mix includes expected 400s, e.g. illegal transitions;
v2 differs from v1 by design on two kinds of call: a session created as cancelled is a 400 on v2 (D22),
and `state: "open"` on a closed session is an accepted no-op on v2 (D23)). The server's CPU time per
answered request is measured too (psutil), as the figure other load on a shared machine disturbs least.

    python bench/v2_throughput.py [--runs 5] [--seconds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from bench._common import free_port, machine, median, write_results
from bench._corpus import Corpus, Replay, build_corpus
from bench._openloop import run_closed_loop
from talon_harness.strategies.wire import encode_body

SERVER_CORE, GENERATOR_CORE = 0, 1
LABELS = ("session", "profile")
TARGET_RATIO = 0.90  # the target: v2 within 10% of v1


def _pin(core: int) -> Any:
    def pin() -> None:
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
            os.sched_setaffinity(0, {core})

    return pin


def _session_v2(body: dict[str, Any]) -> dict[str, Any]:
    session = {k: v for k, v in body.items() if k in ("profileId", "state", "attributes")}
    if body.get("coupon") is not None:
        session["couponCodes"] = [body["coupon"]] if body["coupon"] else []
    if body.get("referral") is not None:
        session["referralCode"] = body["referral"]
    if body.get("cartItems") is not None:
        session["cartItems"] = [{k: v for k, v in item.items() if k != "adjustment"} for item in body["cartItems"]]
    return {"customerSession": session}


def to_v2(raw: bytes) -> bytes:
    """One raw v1 request of the corpus as the same call on v2 (see module doc)."""
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    method, path, version = lines[0].split(b" ")
    document = json.loads(body) if body else {}
    if path.startswith(b"/v1/customer_sessions/"):
        document = _session_v2(document)
    new_body = encode_body(document)  # as the v1 corpus encodes its bodies
    headers = [line for line in lines[1:] if not line.lower().startswith(b"content-length:")]
    headers.append(b"Content-Length: %d" % len(new_body))
    new_path = b"/v2/" + path[len(b"/v1/"):]
    return b"\r\n".join([b" ".join([method, new_path, version]), *headers]) + b"\r\n\r\n" + new_body


def _start(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    argv = [sys.executable, "-m", "talon_harness.refserver", "--quiet", "--api", "v1", "--port", str(port),
            "--db", str(workdir / f"ref-{port}.db")]
    proc = subprocess.Popen(argv, preexec_fn=_pin(SERVER_CORE),  # noqa: PLW1509 - no threads here
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the reference server did not start listening on {port}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _add(total: dict[str, int], statuses: dict[str, int]) -> None:
    for status, count in statuses.items():
        total[status] = total.get(status, 0) + count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each saturation run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--name", default="v2_throughput", help="results file name (bench/results/<name>.*)")
    args = ap.parse_args()
    started = machine()
    _pin(GENERATOR_CORE)()
    v1 = build_corpus(80_000)
    v2 = Corpus(v1.seed, tuple(to_v2(r) for r in v1.requests), v1.is_profile, v1.expect_status)
    replays = {"v1": Replay(v1), "v2": Replay(v2)}
    n = len(v1.requests)
    rates: dict[str, list[float]] = {"v1": [], "v2": []}
    cpu: dict[str, list[float]] = {"v1": [], "v2": []}  # server CPU microseconds per answered request
    statuses: dict[str, dict[str, int]] = {"v1": {}, "v2": {}}
    with tempfile.TemporaryDirectory(prefix="bench-v2-") as tmp:
        next_pass = 0
        for round_no in range(args.runs):
            proc, port = _start(Path(tmp))
            try:
                order = ("v1", "v2") if round_no % 2 == 0 else ("v2", "v1")
                for api in order:  # warm-up on passes of their own
                    warm = run_closed_loop("127.0.0.1", port, replays[api], LABELS, seconds=1,
                                           connections=args.connections, offset=next_pass * n)
                    next_pass += warm.sent // n + 1
                server = psutil.Process(proc.pid)
                for api in order:
                    cpu_before = sum(server.cpu_times()[:2])
                    result = run_closed_loop("127.0.0.1", port, replays[api], LABELS, seconds=args.seconds,
                                             connections=args.connections, offset=next_pass * n)
                    cpu_us = (sum(server.cpu_times()[:2]) - cpu_before) / result.completed * 1e6
                    next_pass += result.sent // n + 1
                    rates[api].append(result.rate)
                    cpu[api].append(cpu_us)
                    _add(statuses[api], result.statuses)
                    print(f"round {round_no + 1} {api}: {result.rate:.0f} req/s, {cpu_us:.1f} us server CPU/request, "
                          f"statuses {result.statuses}", flush=True)
            finally:
                _stop(proc)
    v1_rate, v2_rate = median(rates["v1"]), median(rates["v2"])
    ratio = v2_rate / v1_rate
    cpu_ratio = median(cpu["v1"]) / median(cpu["v2"])  # requests per CPU-second, v2 / v1
    pair_ratios = [b / a for a, b in zip(rates["v1"], rates["v2"], strict=True)]
    met = median(pair_ratios) >= TARGET_RATIO and cpu_ratio >= TARGET_RATIO
    table = [
        "| API | median req/s | runs (req/s) | median server CPU us/request | statuses (all runs) |",
        "|---|---:|---|---:|---|",
        *(f"| {api} | {median(rates[api]):.0f} | {', '.join(f'{r:.0f}' for r in rates[api])} | "
          f"{median(cpu[api]):.1f} | {dict(sorted(statuses[api].items()))} |" for api in ("v1", "v2")),
        "",
        (f"Per round, v2 / v1 req/s: {', '.join(f'{r:.2f}' for r in pair_ratios)} (median {median(pair_ratios):.3f}); "
         f"requests per server CPU-second, v2 / v1: {cpu_ratio:.3f}. On a shared machine the CPU figure is the "
         "steadier one: it does not count the time the server waited for a core."),
        "",
        (f"Verdict on the target (v2 >= {TARGET_RATIO:.2f} x v1, judged on the per-round median and the CPU figure, "
         f"not on the medians of rounds that other load hit differently): {'met' if met else 'NOT met'}. "
         f"Ratio of the req/s medians: {ratio:.3f}. "
         f"Same journeys ({n} requests per pass, {v1.expected_non_2xx_share:.1%} non-2xx expected on v1), "
         f"server on core {SERVER_CORE}, closed-loop generator on core {GENERATOR_CORE}, "
         f"{args.connections} connections, {args.seconds:g} s per run."),
    ]
    data = {"rates": rates, "cpu_us_per_request": cpu, "statuses": statuses,
            "median_rps": {"v1": v1_rate, "v2": v2_rate}, "ratio": ratio, "pair_ratios": pair_ratios,
            "cpu_ratio": cpu_ratio, "target_met": met,
            "target_ratio": TARGET_RATIO, "requests_per_pass": n,
            "example_v2_request": unquote(v2.requests[0].decode("utf-8", "replace"))}
    write_results(args.name, data, table, started=started)


if __name__ == "__main__":
    main()
