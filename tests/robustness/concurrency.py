"""1,000 concurrent updates over 10 sessions and their 2 profiles (5 sessions each), and an audit of the books.

``concurrent_updates(proc, seed=...)`` sends, 100 at a time over keep-alive connections, per session 62
updates (total, cart, attributes), 20 closes and 2 cancels (odd sessions) or 2 reads (every request names
the session's profile, so whichever arrives first creates it), plus 160 profile attribute updates: in
three shuffled, overlapping phases (updates, a burst of closes, cancels). Then it audits the database
read-only. Promises checked (``Outcome.problems`` lists every broken one):

- no 5xx and never "database is locked"; every 400 is a state-machine refusal ("Session closed" or
  "Illegal state transition"), the only legitimate outcome of racing a close;
- event ids in the responses are unique; each session has exactly one ``talon_session_created``, at most
  one ``talon_session_closed`` and one ``talon_session_cancelled``, and as many stored events as 200s;
- replaying each session's 200 responses in event-id order gives a legal state history;
- for every profile: ``closedSessions`` / ``totalSales`` equal the count / sum of totals of its sessions
  that are closed now, and every attribute key acknowledged on it is present (no lost update).
"""

from __future__ import annotations

import collections
import itertools
import json
import random
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any

from talon_harness.refserver import ServerProcess

from .rawhttp import RawClient, RawResponse

__all__ = ["Outcome", "concurrent_updates"]

SESSIONS = 10
PROFILES = 2
_JSON = [("Content-Type", "application/json")]
_LEGAL = {("open", "open"), ("open", "closed"), ("open", "cancelled"), ("closed", "closed"),
          ("closed", "cancelled"), ("cancelled", "cancelled")}


@dataclass
class Outcome:
    statuses: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _requests(rng: random.Random, tag: str) -> list[tuple[str, dict[str, Any]]]:
    """Three overlapping phases: updates, a burst of closes (sibling sessions race to book their
    profile), then cancels (odd sessions) or reads; profile attribute updates run through all three."""
    updates: list[tuple[str, dict[str, Any]]] = []
    first_closes: list[tuple[str, dict[str, Any]]] = []
    closes: list[tuple[str, dict[str, Any]]] = []
    finals: list[tuple[str, dict[str, Any]]] = []
    for s in range(SESSIONS):
        path, pid = f"/v1/customer_sessions/{tag}-s{s}", f"{tag}-p{s % PROFILES}"
        for n in range(62):
            body: dict[str, Any] = {"profileId": pid, "total": rng.randint(1, 1000)}
            if n % 3 == 0:
                body["cartItems"] = [{"name": "x", "sku": f"sku-{n}", "quantity": 1, "price": body["total"]}]
            if n % 2 == 0:
                body["attributes"] = {f"a{n}": n}
            updates.append((path, body))
        first_closes.append((path, {"profileId": pid, "state": "closed"}))
        closes += [(path, {"profileId": pid, "state": "closed"})] * 19
        finals += [(path, {"profileId": pid, "state": "cancelled"} if s % 2 else {"profileId": pid})] * 2
    profiles = [(f"/v1/customer_profiles/{tag}-p{i % PROFILES}", {"attributes": {f"c{i}": i}}) for i in range(160)]
    phases = [updates + profiles[:100], first_closes, closes + profiles[100:150], finals + profiles[150:]]
    for phase in phases:
        rng.shuffle(phase)  # the first close of every session leads the burst: checkout rush
    return [request for phase in phases for request in phase]


def _storm(proc: ServerProcess, requests: list[tuple[str, dict[str, Any]]],
           connections: int = 100) -> list[RawResponse | Exception]:
    """Send every request, ``connections`` at a time (one keep-alive raw connection per thread, each
    taking the next request in order); answers in request order."""
    answers: list[RawResponse | Exception | None] = [None] * len(requests)
    cursor = iter(range(len(requests)))
    lock = threading.Lock()

    def worker() -> None:
        with RawClient(proc.host, proc.port, timeout=30) as client:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                path, body = requests[index]
                try:
                    answers[index] = client.request("PUT", path.encode(), headers=_JSON, body=json.dumps(body).encode())
                except Exception as exc:  # noqa: BLE001 - recorded as a problem by the caller
                    answers[index] = exc
                    client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [a if a is not None else TimeoutError("no answer") for a in answers]


def concurrent_updates(proc: ServerProcess, *, seed: int, tag: str | None = None) -> Outcome:
    """Run the storm against ``proc`` and audit (see module docstring)."""
    rng = random.Random(seed)
    tag = tag or f"conc{seed}"
    requests = _requests(rng, tag)
    assert len(requests) == 1000
    responses = _storm(proc, requests)
    outcome = Outcome()
    problems = outcome.problems
    statuses: collections.Counter[int] = collections.Counter()
    ok_sessions: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    acked_keys: dict[str, set[str]] = collections.defaultdict(set)
    event_ids: list[int] = []
    for (path, body), response in zip(requests, responses):
        if isinstance(response, Exception):
            problems.append(f"{path}: {type(response).__name__}: {response}")
            continue
        statuses[response.status] += 1
        text = response.body.decode("utf-8", "replace")
        if "database is locked" in text:
            problems.append(f"{path}: 'database is locked' in the answer")
        if response.status >= 500:
            problems.append(f"{path} {body}: {response.status} {text[:200]}")
        elif response.status == 400:
            titles = {e.get("title") for e in json.loads(response.body).get("errors", [])}
            if not titles <= {"Session closed", "Illegal state transition"}:
                problems.append(f"{path} {body}: unexpected 400 {titles}")
        elif response.status == 200:
            state = json.loads(response.body)
            event_ids.append(state["event"]["id"])
            if state["session"] is not None:
                ok_sessions[state["session"]["integrationId"]].append(state)
            else:
                acked_keys[state["profile"]["integrationId"]].update(body["attributes"])
        else:
            problems.append(f"{path}: unexpected status {response.status}")
    outcome.statuses = dict(sorted(statuses.items()))
    if len(set(event_ids)) != len(event_ids):
        problems.append("duplicate event ids in the responses")
    log = proc.log_tail(400)
    if "database is locked" in log or "Traceback" in log:
        problems.append("'database is locked' or a traceback in the server log")
    problems += _audit_db(str(proc.db), tag, ok_sessions, acked_keys)
    return outcome


def _audit_db(db: str, tag: str, ok_sessions: dict[str, list[dict[str, Any]]],
              acked_keys: dict[str, set[str]]) -> list[str]:
    problems: list[str] = []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        sessions = {k: json.loads(v) for k, v in conn.execute(
            "SELECT integration_id, doc FROM sessions WHERE integration_id LIKE ?", (f"{tag}-%",))}
        profiles = {k: json.loads(v) for k, v in conn.execute(
            "SELECT integration_id, doc FROM profiles WHERE integration_id LIKE ?", (f"{tag}-%",))}
        events = [json.loads(v) for (v,) in conn.execute("SELECT doc FROM events")]
    finally:
        conn.close()
    by_session: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for event in events:
        if str(event.get("sessionId", "")).startswith(f"{tag}-"):
            by_session[event["sessionId"]][event["type"]] += 1
    for sid, answers in ok_sessions.items():
        types = by_session[sid]
        if types["talon_session_created"] != 1 or types["talon_session_closed"] > 1 or types["talon_session_cancelled"] > 1:
            problems.append(f"session {sid}: event types {dict(types)}")
        if sum(types.values()) != len(answers):
            problems.append(f"session {sid}: {sum(types.values())} stored events for {len(answers)} acknowledged calls")
        history = [a["session"]["state"] for a in sorted(answers, key=lambda a: a["event"]["id"])]
        for before, after in itertools.pairwise(history):
            if (before, after) not in _LEGAL:
                problems.append(f"session {sid}: state went {before} -> {after} (history {history})")
                break
        if history and sessions.get(sid, {}).get("state") != history[-1]:
            problems.append(f"session {sid}: stored state {sessions.get(sid, {}).get('state')}, last answer {history[-1]}")
    closed: dict[str, tuple[int, float]] = {}
    for doc in sessions.values():
        if doc["state"] == "closed":
            count, total = closed.get(doc["profileId"], (0, 0))
            closed[doc["profileId"]] = (count + 1, total + doc["total"])
    for pid, doc in profiles.items():
        want = closed.get(pid, (0, 0))
        if (doc["closedSessions"], doc["totalSales"]) != want:
            problems.append(f"profile {pid}: closedSessions/totalSales {doc['closedSessions']}/{doc['totalSales']}, "
                            f"closed sessions say {want[0]}/{want[1]}")
        missing = acked_keys.get(pid, set()) - set(doc["attributes"])
        if missing:
            problems.append(f"profile {pid}: acknowledged attributes lost: {sorted(missing)[:5]}")
    return problems
