"""Durability under SIGKILL: a bounded write load, a kill in the middle, a restart, and an audit.

``kill_mid_load(proc, seed=...)`` drives ``workers`` threads of session journeys against a running
``ServerProcess`` (each worker: its own profile and keep-alive connection; each journey: create a
session with one item, add a second item, close, sometimes cancel; then bump a counter attribute on
the profile), SIGKILLs the server once ``kill_after`` writes were acknowledged, and returns what every
client saw. ``audit(db, ledger)`` then reads the database (read-only) and lists every broken promise:

- every acknowledged write is present: each session is at its last acknowledged step or at the one
  step that was in flight when the server died (never earlier, never something else); every
  acknowledged event id exists with the acknowledged type; each profile counter is the last
  acknowledged value or the in-flight one;
- nothing is half-applied: for every profile, ``closedSessions`` and ``totalSales`` equal the count and
  the sum of totals of its sessions that are closed now, and each session's cart and total belong to
  the same step as its state.

An empty list means the promises held. The audit is the same for CI (one run) and the bench (many).
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from talon_harness.refserver import ServerProcess

from .rawhttp import Dropped, Hang, RawClient

__all__ = ["Ledger", "audit", "kill_mid_load", "restart_and_probe"]

_JSON = [("Content-Type", "application/json")]


@dataclass
class _SessionLog:
    profile: str
    steps: list[dict[str, Any]]  # expected (state, cartItems, total) after each step
    acked: int = 0  # how many steps were acknowledged
    sent: int = 0  # how many steps were sent (acked or in flight)


@dataclass
class Ledger:
    """What the clients saw: per session its steps, per profile its counter, every acked event."""

    sessions: dict[str, _SessionLog] = field(default_factory=dict)
    counters: dict[str, tuple[int, int]] = field(default_factory=dict)  # profile -> (acked, sent)
    events: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # id -> (type, sessionId)
    acked: int = 0
    errors: list[str] = field(default_factory=list)  # non-200 answers before the kill (must be none)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _item(rng: random.Random, n: int) -> dict[str, Any]:
    return {"name": f"item {n}", "sku": f"sku-{n}", "quantity": rng.randint(1, 3), "price": rng.randint(1, 99)}


def _worker(proc_host: str, port: int, wid: int, seed: int, ledger: Ledger, stop: threading.Event,
            max_journeys: int) -> None:
    rng = random.Random(seed * 1000 + wid)
    profile = f"dur-p{wid}"
    client = RawClient(proc_host, port, timeout=10)

    def put(path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        raw = json.dumps(body).encode()
        try:
            response = client.request("PUT", path.encode(), headers=_JSON, body=raw)
        except (Hang, Dropped, OSError):
            stop.set()
            return None
        if response.status != 200:
            with ledger.lock:
                ledger.errors.append(f"{path} {body} -> {response.status} {response.body[:200]!r}")
            stop.set()
            return None
        state = json.loads(response.body)
        with ledger.lock:
            ledger.events[state["event"]["id"]] = (state["event"]["type"], state["event"].get("sessionId"))
            ledger.acked += 1
        return state

    try:
        for journey in range(max_journeys):
            if stop.is_set():
                return
            sid = f"dur-s{wid}-{journey}"
            first, second = _item(rng, 1), _item(rng, 2)
            t1, t2 = rng.randint(1, 500), rng.randint(501, 1000)
            bodies = [{"profileId": profile, "cartItems": [first], "total": t1},
                      {"cartItems": [first, second], "total": t2}, {"state": "closed"}]
            steps = [("open", [first], t1), ("open", [first, second], t2), ("closed", [first, second], t2)]
            if rng.random() < 0.3:
                bodies.append({"state": "cancelled"})
                steps.append(("cancelled", [first, second], t2))
            log = _SessionLog(profile, [{"state": s, "cartItems": c, "total": t} for s, c, t in steps])
            with ledger.lock:
                ledger.sessions[sid] = log
            for body in bodies:
                log.sent += 1
                if put(f"/v1/customer_sessions/{sid}", body) is None:
                    return
                log.acked += 1
            acked, _ = ledger.counters.get(profile, (0, 0))
            ledger.counters[profile] = (acked, journey + 1)
            if put(f"/v1/customer_profiles/{profile}", {"attributes": {"n": journey + 1}}) is None:
                return
            ledger.counters[profile] = (journey + 1, journey + 1)
    finally:
        client.close()


def kill_mid_load(proc: ServerProcess, *, seed: int, workers: int = 4, kill_after: int = 300,
                  max_journeys: int = 400, deadline_s: float = 30.0) -> Ledger:
    """Run the load, SIGKILL ``proc`` once ``kill_after`` writes were acknowledged (or at the deadline)."""
    ledger = Ledger()
    stop = threading.Event()
    assert proc.port is not None
    threads = [threading.Thread(target=_worker, args=(proc.host, proc.port, w, seed, ledger, stop, max_journeys),
                                daemon=True) for w in range(workers)]
    for thread in threads:
        thread.start()
    give_up = time.monotonic() + deadline_s
    while ledger.acked < kill_after and time.monotonic() < give_up and any(t.is_alive() for t in threads):
        time.sleep(0.002)
    proc.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    return ledger


def _matches(doc: dict[str, Any], step: dict[str, Any]) -> bool:
    return all(doc.get(key) == value for key, value in step.items())


def audit(db: str, ledger: Ledger) -> list[str]:
    """Every broken durability/atomicity promise (see module docstring); empty when all held."""
    problems = [f"error before the kill: {e}" for e in ledger.errors]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        sessions = {sid: json.loads(doc) for sid, doc in conn.execute("SELECT integration_id, doc FROM sessions")}
        profiles = {pid: json.loads(doc) for pid, doc in conn.execute("SELECT integration_id, doc FROM profiles")}
        events = {eid: json.loads(doc) for eid, doc in conn.execute("SELECT id, doc FROM events")}
    finally:
        conn.close()
    for sid, log in ledger.sessions.items():
        doc = sessions.get(sid)
        if doc is None:
            if log.acked:
                problems.append(f"session {sid}: {log.acked} acknowledged steps, but the session is missing")
            continue
        allowed = [log.steps[i - 1] for i in {log.acked, log.sent} if i >= 1]
        if not any(_matches(doc, step) for step in allowed):
            problems.append(f"session {sid}: stored {doc.get('state')}/{doc.get('total')}/"
                            f"{len(doc.get('cartItems', []))} items; acked {log.acked} of {log.sent} sent steps "
                            f"(allowed: {allowed})")
    for pid, (acked, sent) in ledger.counters.items():
        value = profiles.get(pid, {}).get("attributes", {}).get("n", 0)
        if value not in (acked, sent):
            problems.append(f"profile {pid}: counter {value}, acknowledged {acked} (in flight {sent})")
    for eid, (etype, sid) in ledger.events.items():
        stored = events.get(eid)
        if stored is None:
            problems.append(f"event {eid} ({etype} {sid}) acknowledged but missing")
        elif (stored.get("type"), stored.get("sessionId")) != (etype, sid):
            problems.append(f"event {eid}: stored {stored.get('type')} {stored.get('sessionId')}, acked {etype} {sid}")
    closed: dict[str, tuple[int, float]] = {}
    for doc in sessions.values():
        if doc.get("state") == "closed" and doc.get("profileId"):
            count, total = closed.get(doc["profileId"], (0, 0))
            closed[doc["profileId"]] = (count + 1, total + doc["total"])
    for pid, doc in profiles.items():
        want = closed.get(pid, (0, 0))
        if (doc.get("closedSessions"), doc.get("totalSales")) != want:
            problems.append(f"profile {pid}: closedSessions/totalSales {doc.get('closedSessions')}/"
                            f"{doc.get('totalSales')}, but its closed sessions say {want[0]}/{want[1]}")
    return problems


def restart_and_probe(proc: ServerProcess, ledger: Ledger) -> list[str]:
    """Restart on the same db; the server must serve, show an acked session, and issue higher event ids."""
    proc.start()
    problems: list[str] = []
    acked = [sid for sid, log in ledger.sessions.items() if log.acked]
    with RawClient(proc.host, proc.port) as client:
        if acked:
            sid = acked[-1]
            response = client.request("PUT", f"/v1/customer_sessions/{sid}".encode(), headers=_JSON, body=b"{}")
            if response.status != 200:
                problems.append(f"after restart: read of {sid} -> {response.status}")
            else:
                state = json.loads(response.body)
                if ledger.events and state["event"]["id"] <= max(ledger.events):
                    problems.append(f"after restart: event id {state['event']['id']} not above acked {max(ledger.events)}")
        fresh = client.request("PUT", b"/v1/customer_sessions/after-restart", headers=_JSON,
                               body=b'{"profileId":"dur-p0","total":7,"state":"closed"}')
        if fresh.status != 200:
            problems.append(f"after restart: new write -> {fresh.status} {fresh.body[:200]!r}")
    return problems
