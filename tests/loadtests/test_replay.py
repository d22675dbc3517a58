"""``load --replay``: a recording of a real ``load`` run (through the proxy) replayed against fresh servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from talon_harness.harness.proxy import ProxyConfig, run_proxy
from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.probe import PROBE_ENTITY
from talon_harness.loadtests.replay import load_traffic, remap, split, to_har
from talon_harness.loadtests.run import LoadResult, run_load
from talon_harness.refserver import ServerConfig, ServerProcess, Store, create_app
from talon_harness.strategies.wire import Credentials
from tests.contract.driver import serve

KEY = "5e6f7a8b9c0d1e2f"
CREDS = Credentials(hmac_application_id=1, hmac_key=KEY)
CLI = [sys.executable, "-m", "talon_harness.harness"]

def _summary(result: LoadResult) -> dict[str, Any]:
    """The run's summary.json (the typed outcome plus the report-only keys, e.g. ``replay``)."""
    assert result.summary_path is not None, result.problems
    return json.loads(result.summary_path.read_text(encoding="utf-8"))



@dataclass(frozen=True)
class Recorded:
    path: Path
    requests: int  # what the load run counted
    lines: list[dict[str, Any]]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """A 10 s open-model load run with HMAC, recorded by the proxy in front of a fresh reference server."""
    tmp = tmp_path_factory.mktemp("recorded")
    record = tmp / "load.ndjson"
    with ServerProcess(hmac_key=KEY, quiet=True) as server:
        config = ProxyConfig(upstream=server.base_url, port=0, record=record, report_dir=tmp / "proxy", fresh=True)
        ports: list[int] = []
        stop = threading.Event()
        thread = threading.Thread(target=run_proxy, kwargs={"config": config, "emit": lambda _: None,
                                                             "ready": ports.append, "stop": stop}, daemon=True)
        thread.start()
        while not ports:
            time.sleep(0.01)
        result = run_load(LoadConfig(base_url=f"http://127.0.0.1:{ports[0]}", rate=4.0, duration_s=10.0,
                                     credentials=CREDS, report_dir=tmp / "load", seed=3))
        stop.set()
        thread.join(15)
    assert result.passed, result.breaches
    every = [json.loads(line) for line in record.read_text().splitlines()]
    # load probes the target once before it starts (one PUT of its own profile, PROBE_ENTITY): recorded
    assert [x for x in every if x["method"] != "PUT"] == []
    lines = [x for x in every if x["method"] == "PUT"]
    yield Recorded(record, _summary(result)["endpoints"]["overall"]["requests"], lines)


def _replay(file: Path, tmp: Path, *, speed: float, workers: int = 0) -> LoadResult:
    span_s = load_traffic(file)[-1].offset_ms / 1000.0
    with ServerProcess(hmac_key=KEY, quiet=True) as fresh:
        return run_load(LoadConfig(base_url=fresh.base_url, users=max(1, workers), spawn_rate=float(max(1, workers)),
                                   workers=workers, duration_s=span_s / speed + 3.0, credentials=CREDS,
                                   report_dir=tmp, replay=file, replay_speed=speed))


def test_the_recording_holds_every_request_and_no_credential(recorded: Recorded) -> None:
    # the proxy also saw the few requests in flight when the load run stopped (Locust does not count those)
    assert 60 <= recorded.requests <= len(recorded.lines) <= recorded.requests + 10
    text = recorded.path.read_text()
    for secret in (KEY, KEY.upper(), "signature=", "signer="):
        assert secret not in text
    # the load run's own probe (one PUT of PROBE_ENTITY, sent by httpx before the run) is recorded too
    probe = [r for r in recorded.lines if r["path"] == f"/v1/customer_profiles/{PROBE_ENTITY}"]
    assert len(probe) == 1 and recorded.lines[0] is probe[0]
    assert {k for r in recorded.lines[1:] for k, _ in r["headers"]} == {"host", "user-agent", "content-type",
                                                                         "accept-encoding", "content-length"}


@pytest.mark.parametrize("speed", [pytest.param(1.0, marks=pytest.mark.slow), 5.0])  # CI: 5x (the others too)
def test_replay_matches_every_recorded_status(recorded: Recorded, tmp_path: Path, speed: float) -> None:
    result = _replay(recorded.path, tmp_path, speed=speed)
    replay = _summary(result)["replay"]
    assert (replay["sent"], replay["status_matched"], replay["status_mismatched"]) == (
        len(recorded.lines), len(recorded.lines), 0)
    assert result.passed and result.exit_code == 0, result.breaches
    assert _summary(result)["mode"] == "replay"  # on the recording's own schedule, neither open nor closed
    assert _summary(result)["arrivals"]["intended"] == len(recorded.lines)
    assert _summary(result)["endpoints"]["overall"]["latency_ms"]["corrected"] is not None
    span_s = recorded.lines[-1]["offset_ms"] / 1000.0 - recorded.lines[0]["offset_ms"] / 1000.0
    assert _summary(result)["duration_s"] >= span_s / speed * 0.95


def test_a_har_export_replays_the_same_way(recorded: Recorded, tmp_path: Path) -> None:
    har = tmp_path / "export.har"
    har.write_text(json.dumps(to_har(recorded.lines, "https://staging.example.com")))
    assert [e.status for e in load_traffic(har)] == [e.status for e in load_traffic(recorded.path)]
    replay = _summary(_replay(har, tmp_path / "r", speed=5.0))["replay"]
    assert (replay["sent"], replay["status_mismatched"]) == (len(recorded.lines), 0)


class _Arrivals:
    """An ASGI wrapper that logs every PUT the app receives, in arrival order, with the pid of the process
    that owns the client's end of the connection (psutil, looked up once per connection)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.log: list[tuple[int | None, str, bytes]] = []  # (sender pid, raw path, body)
        self._pids: dict[tuple[int, int], int | None] = {}

    def _pid(self, client: tuple[str, int], server: tuple[str, int]) -> int | None:
        key = (client[1], server[1])
        if key not in self._pids:
            self._pids[key] = next((c.pid for c in psutil.net_connections(kind="tcp")
                                    if c.laddr and c.raddr and c.laddr.port == client[1]
                                    and c.raddr.port == server[1]), None)
        return self._pids[key]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "PUT":
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.log.append((self._pid(scope["client"], scope["server"]), scope["raw_path"].decode("latin-1"), body))
        sent = False

        async def replayed() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replayed, send)


def test_replay_on_two_workers_keeps_each_customer_in_order(recorded: Recorded, tmp_path: Path) -> None:
    """What the server received (logged at the server, with the sending process): every recorded PUT once,
    from exactly two worker processes, each customer (``split``'s grouping) from one of them, and each
    entity's requests in recorded order."""
    entries = load_traffic(recorded.path)
    shares = split(entries, 2)
    assert all(shares)  # the recording has customers for both workers
    token = "w2order"
    expected = remap(entries, f"{token}-")
    store = Store(tmp_path / "fresh.db")
    arrivals = _Arrivals(create_app(store, ServerConfig(hmac_key=KEY)))
    try:
        with serve(arrivals) as url:
            span_s = entries[-1].offset_ms / 1000.0
            result = run_load(LoadConfig(base_url=url, users=2, spawn_rate=2.0, workers=2, duration_s=span_s / 5 + 3.0,
                                         credentials=CREDS, report_dir=tmp_path / "r", replay=recorded.path,
                                         replay_speed=5.0, replay_token=token))
    finally:
        store.close()
    replay = _summary(result)["replay"]
    assert (replay["sent"], replay["status_mismatched"]) == (len(recorded.lines), 0)
    # the replay run's own probe (sent by the harness before Locust starts, no replay token) comes first
    assert arrivals.log[0][1] == f"/v1/customer_profiles/{PROBE_ENTITY}"
    received = arrivals.log[1:]
    assert sorted((path, body) for _, path, body in received) == sorted((e.path, e.body) for e in expected)
    per_entity: dict[str, list[bytes]] = {}
    for e in expected:
        per_entity.setdefault(e.path, []).append(e.body)
    got: dict[str, list[bytes]] = {}
    for _, path, body in received:
        got.setdefault(path, []).append(body)
    assert got == per_entity  # each entity's requests arrived in recorded order
    senders = {pid for pid, _, _ in received}
    assert None not in senders and len(senders) == 2 and os.getpid() not in senders, senders
    by_sender = {pid: {path for p, path, _ in received if p == pid} for pid in senders}
    paths_of_share = [{remap([e], f"{token}-")[0].path for customer in share for e in customer} for share in shares]
    assert sorted(map(sorted, by_sender.values())) == sorted(map(sorted, paths_of_share))


def test_cli_counts_and_shows_status_mismatches(tmp_path: Path) -> None:
    record = tmp_path / "hand.ndjson"
    lines = [
        {"offset_ms": 0, "method": "PUT", "path": "/v1/customer_sessions/m1", "headers": [["content-type",
         "application/json"]], "body": '{"state":"closed"}', "status": 200},
        {"offset_ms": 100, "method": "PUT", "path": "/v1/customer_sessions/m1", "headers": [["content-type",
         "application/json"]], "body": '{"state":"cancelled"}', "status": 400},  # a correct server says 200
        {"offset_ms": 150, "method": "GET", "path": "/v1/customer_sessions/m1", "headers": [], "status": 405},
    ]
    record.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = subprocess.run([*CLI, "load", "--replay", str(record), "--report-dir", str(tmp_path / "r")],
                            check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert ("replay: 2 requests sent, 1 statuses as recorded, 1 different; 400->200: 1; schedule lateness p50"
            in result.stdout)
    assert "BREACH overall.error_ratio: observed 0.5 (limit <= 0.001)" in result.stdout


def test_cli_rejects_a_file_that_is_not_a_recording(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"hello": 1}\n')
    result = subprocess.run([*CLI, "load", "--replay", str(bad)], check=False, capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [(f"Error: Invalid value for '--replay': recording '{bad}' is not valid: "
                                           f"{bad} line 1: not a recording line (KeyError: 'offset_ms')")]
