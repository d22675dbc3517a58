"""Peers side by side: the reference server against Prism's mock as a stand-in for Talon.One, and
`talon-harness proxy` against Prism's validation proxy. One run, each figure a ratio, loopback only.

Stand-ins (`prism mock contracts/integration-v1.yaml`, the reference server):
- requests/s: the same journey mix (bench/_corpus.py, fresh ids every pass) in a closed loop of `--seconds`
  on `--connections` connections, and the statuses each answered beside those the journeys expect;
- 20 stateful sequences (close then cancel, bookkeeping, retries, illegal transitions, merges, events,
  coupons): each is right when every answer is what the contract and DECISIONS.md say.
Proxies (`talon-harness proxy --upstream`, `prism proxy <contract> <upstream>`), each in front of one
reference server:
- overhead: the journey mix at `--rate` requests/s open loop (latency from the due time), direct and through
  each proxy; the added p50/p99;
- what each flags: the same fixed traffic (TRAFFIC: valid calls, injected client errors) sent through each
  proxy in front of a correct upstream and in front of upstreams with injected server faults; a scenario is
  flagged when the proxy reported at least one violation for it (talon: proxy.json; Prism: its
  "Violation" log lines at --verboseLevel warn).
WireMock is not compared: it has no OpenAPI-driven mock (each answer is a hand-written stub), and its
standalone jar did not resolve from Maven on this machine (see README's peers line).

Prism comes from npm: `npm install --prefix /tmp/peers-prism @stoplight/prism-cli`, then `--prism
/tmp/peers-prism/node_modules/.bin/prism` (the default).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, free_port, machine, write_results
from bench._corpus import Replay, build_corpus
from bench._openloop import run_closed_loop, run_open_loop
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import PROFILE, SESSION, build_put

CONTRACT = ROOT / "contracts" / "integration-v1.yaml"
#: where the measured talon_harness was imported from (PYTHONPATH may point at an export of a commit)
CODE = str(Path(sys.modules[ServerProcess.__module__].__file__ or "?").parent.parent)
LABELS = ("session", "profile")
Put = Callable[..., tuple[int, Any]]


class _NotListening(RuntimeError):
    """A peer process did not come up (a port taken in between, a slow start on a busy machine)."""


def _enter(stack: ExitStack, factory: Callable[[int], Any]) -> int:
    """Start `factory(port)` on a free port inside `stack`, up to three times; its port."""
    for _ in range(3):
        port = free_port()
        try:
            stack.enter_context(factory(port))
            return port
        except _NotListening as exc:
            print(f"retrying: {exc}", flush=True)
    raise SystemExit("a peer did not start three times; see the lines above")


@contextmanager
def _process(args: list[str], log: Path, port: int, warm: tuple[str, ...] = ()) -> Iterator[subprocess.Popen[bytes]]:
    """A server process listening on `port` (and, for Prism, past its slow first request), stopped after."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        tail = log.read_text(errors="replace")[-500:]
                        raise _NotListening(f"{args[:4]} did not listen on {port}: {tail}") from None
                    time.sleep(0.2)
            for path in warm:  # Prism compiles an operation's validators on its first request (seconds)
                httpx.put(f"http://127.0.0.1:{port}{path}", json={}, timeout=60)
            yield proc
            time.sleep(1.0)  # Prism's logger writes asynchronously: let the last lines reach the file
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _prism(prism: str, mode: str, port: int, log: Path, upstream: str | None = None) -> Any:
    args = [prism, mode, str(CONTRACT), *([upstream] if upstream else []), "-h", "127.0.0.1", "-p", str(port),
            "--verboseLevel", "warn"]
    return _process(args, log, port, warm=("/v1/customer_profiles/warm-up", "/v1/customer_sessions/warm-up"))


def _talon_proxy(upstream: str, port: int, workdir: Path) -> Any:
    args = [sys.executable, "-m", "talon_harness.harness", "proxy", "--upstream", upstream, "--port", str(port),
            "--report-dir", str(workdir)]
    return _process(args, workdir.with_suffix(".log"), port)


def _client(base_url: str) -> tuple[httpx.Client, Put]:
    http = httpx.Client(base_url=base_url, timeout=30)

    def put(op: str, entity: str, body: object, content_type: str = "application/json") -> tuple[int, Any]:
        req = build_put(op, entity, body, content_type=content_type)
        resp = http.put(req.path, headers=req.headers, content=req.body)
        try:
            return resp.status_code, resp.json()
        except ValueError:
            return resp.status_code, None
    return http, put


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


CART = [{"name": "Tee", "sku": "T-1", "quantity": 2, "price": 15.0}]


def sequences(p: Put, n: str) -> dict[str, bool]:
    """The 20 stateful sequences, each judged by the contract and DECISIONS.md; `n` makes the ids unique."""
    s, c = f"{n}-s", f"{n}-c"
    ok: dict[str, bool] = {}
    st, b = p(SESSION, s + "1", {"profileId": c + "1", "cartItems": CART, "total": 30.0, "state": "closed"})
    ok["close counts the session (closedSessions 1, totalSales 30)"] = (
        st == 200 and (_get(b, "profile", "closedSessions"), _get(b, "profile", "totalSales")) == (1, 30.0))
    st, b = p(SESSION, s + "1", {"state": "cancelled"})
    ok["cancel after close takes it off the books (0, 0.0)"] = (
        st == 200 and (_get(b, "profile", "closedSessions"), _get(b, "profile", "totalSales")) == (0, 0.0))
    st, b = p(SESSION, s + "1", {"state": "open"})
    errors = _get(b, "errors")
    ok["cancelled -> open is refused (400 at /state)"] = st == 400 and isinstance(errors, list) and \
        _get(errors[0] if errors else None, "source", "pointer") == "/state"
    st, b = p(SESSION, s + "2", {"profileId": c + "2", "total": 10.0, "state": "closed"})
    st2, b2 = p(SESSION, s + "2", {"profileId": c + "2", "total": 10.0, "state": "closed"})
    ok["a retried close counts once (D9)"] = st2 == 200 and _get(b2, "profile", "closedSessions") == 1
    st, b = p(SESSION, s + "2", {"state": "open"})
    ok["closed -> open is refused (400)"] = st == 400
    st, b = p(SESSION, s + "2", {"cartItems": CART})
    ok["a closed session's cart cannot change (400)"] = st == 400
    p(SESSION, s + "3", {"profileId": c + "3", "total": 5.0, "state": "closed"})
    st, b = p(SESSION, s + "4", {"profileId": c + "3", "total": 7.5, "state": "closed"})
    ok["totalSales sums two closed sessions (12.5)"] = _get(b, "profile", "totalSales") == 12.5
    ok["second session of a profile is not its first"] = _get(b, "session", "firstSession") is False
    st, b = p(SESSION, s + "5", {"profileId": c + "5"})
    ok["first session of a new profile is its first"] = _get(b, "session", "firstSession") is True
    st, b = p(PROFILE, c + "5", {})
    ok["a session auto-creates its profile (then profile_updated)"] = _get(b, "event", "type") == \
        "talon_profile_updated"
    p(PROFILE, c + "6", {"attributes": {"Name": "Jane"}})
    st, b = p(PROFILE, c + "6", {"attributes": {"City": "Berlin"}})
    ok["profile attributes merge"] = _get(b, "profile", "attributes") == {"Name": "Jane", "City": "Berlin"}
    st, b = p(PROFILE, c + "7", {})
    ok["a new profile's event is talon_profile_created"] = _get(b, "event", "type") == "talon_profile_created"
    first = _get(b, "event", "id")
    st, b = p(PROFILE, c + "7", {})
    ok["event ids strictly increase"] = isinstance(first, int) and isinstance(_get(b, "event", "id"), int) and \
        b["event"]["id"] > first
    st, b = p(SESSION, s + "8", {"profileId": c + "8", "total": 3.0})
    st, b = p(SESSION, s + "8", {"total": None})
    ok["null means omitted (total kept, D4)"] = _get(b, "session", "total") == 3.0
    ok["the profileId stays on a later update"] = _get(b, "session", "profileId") == c + "8"
    ok["the path id is echoed"] = _get(b, "session", "integrationId") == s + "8"
    st, b = p(SESSION, s + "9", {"state": "cancelled"})
    ok["an open session can be cancelled, nothing counted"] = st == 200 and \
        _get(b, "session", "state") == "cancelled"
    st, b = p(SESSION, s + "10", {"state": "closed", "total": 1.0})
    st, b = p(SESSION, s + "10", {"state": "closed", "total": 2.0})
    ok["a closed session's total cannot change (400)"] = st == 400
    st, b = p(SESSION, s + "11", {"coupon": "SUMMER10", "cartItems": CART, "total": 30.0})
    ok["a known coupon gives its discount"] = _get(b, "session", "discounts") == {"Summer sale": 10.0}
    st, b = p(SESSION, s + "12", {"coupon": "NOPE-123", "cartItems": CART, "total": 30.0})
    ok["an unknown coupon is rejected, no discount"] = st == 200 and _get(b, "session", "discounts") == {} and \
        any(e[3][0] == "rejectCoupon" for e in _get(b, "event", "effects") or [] if isinstance(e, list))
    return ok


def stand_ins(args: argparse.Namespace, tmp: Path, pairs: Replay,
              expected: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("reference server", "Prism mock"):
        with ExitStack() as stack:
            if name == "Prism mock":
                target_port = _enter(stack, lambda port: _prism(args.prism, "mock", port, tmp / f"mock-{port}.log"))
            else:
                target_port = stack.enter_context(ServerProcess(quiet=True)).port or 0
            http, put = _client(f"http://127.0.0.1:{target_port}")
            with http:
                answers = sequences(put, f"peers{int(time.time())}")
            run_closed_loop("127.0.0.1", target_port, pairs, LABELS, seconds=1, connections=args.connections,
                            offset=len(pairs) // 2)  # a pass of its own: the measured run's ids are new
            sat = run_closed_loop("127.0.0.1", target_port, pairs, LABELS, seconds=args.seconds,
                                  connections=args.connections)
        out[name] = {"rps": sat.rate, "statuses": sat.statuses, "right": sum(answers.values()),
                     "sequences": answers}
        print(f"{name}: {sat.rate:.0f} req/s, {sum(answers.values())}/20 sequences right, statuses {sat.statuses}",
              flush=True)
    out["expected_statuses"] = expected
    return out


# the fixed traffic for the flagging runs: (scenario, upstream faults, [(operation, id, body, content type)])
TRAFFIC: list[tuple[str, tuple[str, ...], list[tuple[str, str, Any, str]]]] = [
    ("clean journey (nothing to flag)", (), [(PROFILE, "c1", {"attributes": {"Name": "Jane"}}, "application/json"),
                                             (SESSION, "s1", {"profileId": "c1", "cartItems": CART, "total": 30.0},
                                              "application/json"),
                                             (SESSION, "s1", {"state": "closed"}, "application/json")]),
    ("client: quantity 0", (), [(SESSION, "s2", {"cartItems": [{**CART[0], "quantity": 0}]}, "application/json")]),
    ("client: unknown session field", (), [(SESSION, "s3", {"couponCode": "X"}, "application/json")]),
    ("client: total as a string", (), [(SESSION, "s4", {"total": "30"}, "application/json")]),
    ("client: body sent as text/plain", (), [(SESSION, "s5", {"profileId": "c5"}, "text/plain")]),
    ("client: closed -> open (the 2018 Java SDK's trap)", (),
     [(SESSION, "s6", {"total": 1.0, "state": "closed"}, "application/json"),
      (SESSION, "s6", {"state": "open"}, "application/json")]),
    ("server: event id as a string", ("event_id_as_string",), [(PROFILE, "c7", {}, "application/json")]),
    ("server: 201 instead of 200", ("created_status_201",), [(SESSION, "s8", {}, "application/json")]),
    ("server: created dropped from the session", ("session_created_dropped",),
     [(SESSION, "s9", {}, "application/json")]),
    ("server: cancel keeps totalSales", ("cancel_keeps_total_sales",),
     [(SESSION, "s10", {"profileId": "c10", "total": 9.0, "state": "closed"}, "application/json"),
      (SESSION, "s10", {"state": "cancelled"}, "application/json")]),
    ("server: a retried close counted twice", ("retry_close_counted_twice",),
     [(SESSION, "s11", {"profileId": "c11", "total": 9.0, "state": "closed"}, "application/json"),
      (SESSION, "s11", {"state": "closed"}, "application/json")]),
    ("server: quantity 0 accepted", ("quantity_zero_accepted",),
     [(SESSION, "s12", {"cartItems": [{**CART[0], "quantity": 0}]}, "application/json")]),
]


SENTINEL = "peersSentinelField"  # an unknown member: Prism logs a violation naming it


def _wait_for(log: Path, text: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count(text) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"Prism did not log {text!r} within {timeout} s; see {log}")
        time.sleep(0.2)


def flagging(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for number, (scenario, faults, calls) in enumerate(TRAFFIC):
        rows[scenario] = {}
        with ServerProcess(quiet=True, faults=faults) as upstream:
            for proxy in ("talon-harness proxy", "Prism proxy"):
                def start(port: int, proxy: str = proxy, number: int = number) -> Any:
                    work = tmp / f"flag-{number}-{proxy.split()[0]}-{port}"
                    return (_talon_proxy(upstream.base_url, port, work) if proxy.startswith("talon")
                            else _prism(args.prism, "proxy", port, work.with_suffix(".log"), upstream.base_url))
                with ExitStack() as stack:
                    port = _enter(stack, start)
                    work = tmp / f"flag-{number}-{proxy.split()[0]}-{port}"
                    http, put = _client(f"http://127.0.0.1:{port}")
                    with http:
                        skip = 0
                        if proxy.startswith("Prism"):  # count only what follows the warm-up's lines
                            put(SESSION, f"P{number}-sentinel-0", {SENTINEL: 0})
                            _wait_for(work.with_suffix(".log"), SENTINEL, 1)
                            skip = work.with_suffix(".log").stat().st_size
                        statuses = [put(op, f"{proxy[0]}{number}-{entity}", body, ctype)[0]
                                    for op, entity, body, ctype in calls]
                        if proxy.startswith("Prism"):  # its log is asynchronous: wait for a last, known line
                            put(SESSION, f"P{number}-sentinel-1", {SENTINEL: 1})
                            _wait_for(work.with_suffix(".log"), SENTINEL, 2)
                if proxy.startswith("talon"):
                    report = json.loads((work / "proxy.json").read_text())
                    found = report["violations"]
                    rules = sorted({f"{v['side']}:{v['rule']}" for v in report["violations_kept"]})
                else:
                    lines = work.with_suffix(".log").read_bytes()[skip:].decode(errors="replace").splitlines()
                    lines = [line for line in lines if SENTINEL not in line]
                    rules = [line.split("Violation:", 1)[1].strip()[:80] for line in lines if "Violation:" in line]
                    found = len(rules)
                    rules += [f"its own error: {line.split('error', 1)[-1].strip()[:100]}" for line in lines
                              if "Request terminated with error" in line]
                rows[scenario][proxy] = {"violations": found, "what": rules, "client_got": statuses}
        print(f"{scenario}: " + ", ".join(f"{k} {v['violations']}" for k, v in rows[scenario].items()), flush=True)
    return rows


def overhead(args: argparse.Namespace, tmp: Path, pairs: Replay) -> dict[str, Any]:
    out: dict[str, Any] = {}
    offset = 0
    with ServerProcess(quiet=True) as upstream:
        assert upstream.port is not None
        for name in ("direct", "talon-harness proxy", "Prism proxy"):
            with ExitStack() as stack:
                target = upstream.port if name == "direct" else _enter(stack, lambda port, name=name: (
                    _talon_proxy(upstream.base_url, port, tmp / f"overhead-talon-{port}") if name.startswith("talon")
                    else _prism(args.prism, "proxy", port, tmp / f"overhead-prism-{port}.log", upstream.base_url)))
                run_open_loop("127.0.0.1", target, pairs, LABELS, rate=args.rate, seconds=1, offset=offset)
                offset += int(args.rate) + 100
                lat = run_open_loop("127.0.0.1", target, pairs, LABELS, rate=args.rate, seconds=args.seconds,
                                    offset=offset)
                offset += lat.sent + 100
            out[name] = {k: v for k, v in asdict(lat).items() if k != "per_label"}
            print(f"{name}: p50 {lat.p50_ms:.2f} ms p99 {lat.p99_ms:.2f} ms, {lat.completed}/{lat.sent} answered",
                  flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prism", default="/tmp/peers-prism/node_modules/.bin/prism")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each throughput / latency run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rate", type=float, default=100.0, help="open-loop requests/s for the proxy overhead")
    args = ap.parse_args()
    if not os.access(args.prism, os.X_OK):
        raise SystemExit(f"Error: no Prism at {args.prism}; npm install --prefix /tmp/peers-prism @stoplight/prism-cli")
    started = machine()
    prism_version = subprocess.run([args.prism, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    corpus = build_corpus(60_000)
    pairs = Replay(corpus)  # every pass of the corpus with its own ids: no request is ever sent twice
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp_name:
        tmp = Path(tmp_name)
        stand = stand_ins(args, tmp, pairs, corpus.expected_statuses)
        over = overhead(args, tmp, pairs)
        flags = flagging(args, tmp)
    write_results("peers", {"prism_version": prism_version, "code_measured": CODE, "settings": vars(args),
                            "stand_ins": stand,
                            "proxy_overhead": over, "flagging": flags}, _table(args, prism_version, stand, over, flags),
                  started=started)


def _table(args: argparse.Namespace, prism_version: str, stand: dict[str, Any], over: dict[str, Any],
           flags: dict[str, Any]) -> list[str]:
    ref, mock = stand["reference server"], stand["Prism mock"]
    d, t, p = over["direct"], over["talon-harness proxy"], over["Prism proxy"]
    added = {name: (row["p50_ms"] - d["p50_ms"], row["p99_ms"] - d["p99_ms"]) for name, row in
             (("talon", t), ("prism", p))}
    names = sorted({s for row in stand.values() if isinstance(row, dict) and "sequences" in row
                    for s in row["sequences"]}, key=list(ref["sequences"]).index)
    caught = {proxy: sum(1 for s, row in flags.items() if not s.startswith("clean") and row[proxy]["violations"])
              for proxy in ("talon-harness proxy", "Prism proxy")}
    injected = sum(1 for s in flags if not s.startswith("clean"))
    return [
        f"Prism {prism_version} (npm @stoplight/prism-cli), on `contracts/integration-v1.yaml`. All traffic on loopback.",
        f"talon_harness imported from `{CODE}`.",
        "",
        "## Stand-ins: the reference server vs Prism's mock",
        "",
        f"Throughput: the journey mix, closed loop, {args.connections} connections, {args.seconds:g} s.",
        "",
        "| stand-in | requests/s | statuses answered | stateful sequences right |",
        "|---|---:|---|---:|",
        f"| reference server | {ref['rps']:.0f} | {ref['statuses']} | {ref['right']}/20 |",
        f"| Prism mock | {mock['rps']:.0f} | {mock['statuses']} | {mock['right']}/20 |",
        (f"| ratio (reference / Prism) | {ref['rps'] / mock['rps']:.2f}x | journeys expect {stand['expected_statuses']} "
        f"| {ref['right']} vs {mock['right']} |"),
        "",
        "| sequence | reference server | Prism mock |",
        "|---|---|---|",
        *(f"| {n} | {'right' if ref['sequences'][n] else 'WRONG'} | {'right' if mock['sequences'][n] else 'WRONG'} |"
          for n in names),
        "",
        "## Proxies: `talon-harness proxy` vs Prism's validation proxy",
        "",
        (f"Overhead: the journey mix at {args.rate:g} requests/s open loop for {args.seconds:g} s, latency from the "
        "due time (ms); one reference server upstream."),
        "",
        "| path | p50 | p99 | added p50 | added p99 | answered |",
        "|---|---:|---:|---:|---:|---:|",
        f"| direct | {d['p50_ms']:.2f} | {d['p99_ms']:.2f} | | | {d['completed']}/{d['sent']} |",
        (f"| talon-harness proxy | {t['p50_ms']:.2f} | {t['p99_ms']:.2f} | {added['talon'][0]:+.2f} | "
        f"{added['talon'][1]:+.2f} | {t['completed']}/{t['sent']} |"),
        (f"| Prism proxy | {p['p50_ms']:.2f} | {p['p99_ms']:.2f} | {added['prism'][0]:+.2f} | "
        f"{added['prism'][1]:+.2f} | {p['completed']}/{p['sent']} |"),
        (f"| ratio of p50 through the proxy (talon / Prism) | {t['p50_ms'] / p['p50_ms']:.2f}x | "
        f"{t['p99_ms'] / p['p99_ms']:.2f}x (p99) | | | |"),
        "",
        f"Flagged, on the same fixed traffic ({injected} scenarios with an injected error, 1 clean):",
        "",
        "| scenario | talon-harness proxy | Prism proxy |",
        "|---|---|---|",
        *(f"| {s} | {_flag(row['talon-harness proxy'])} | {_flag(row['Prism proxy'])} |" for s, row in flags.items()),
        f"| **caught** | **{caught['talon-harness proxy']}/{injected}** | **{caught['Prism proxy']}/{injected}** |",
        "",
        "WireMock: not compared (no OpenAPI-driven mock; its standalone jar did not resolve from Maven here).",
    ]


def _flag(row: dict[str, Any]) -> str:
    what = "; ".join(str(w) for w in row["what"][:3]).replace("|", "/")
    got = f"client got {', '.join(map(str, row['client_got']))}"
    return f"{row['violations'] or '-'} ({what}; {got})" if what else f"- ({got})"


if __name__ == "__main__":
    main()
