"""Probes the harness owns: rules a request-by-request check cannot see.

Each probe is named after the rule it verifies (the rule id of the refserver fault it catches) and
returns a `ProbeResult` with the evidence and the number of requests and seconds it needed.

- ``acknowledged_write_durable``: write N profiles, SIGKILL the server, restart it on the same database,
  read every profile back (``PUT {}``): each must still exist with its attributes.
- ``concurrent_closes_all_counted``: open N sessions of one profile, close them all at once, then
  ``closedSessions``/``totalSales`` must count every one (no lost update).
- ``invalid_bodies_rejected``: for every ``strategies.invalid`` rule, send a few seeded examples (one of every
  rule first, round-robin, so a broken rule shows within a few dozen requests); each
  must get the status the strategy promises (an accepted invalid body names its ``Invalid.breaks``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx

from talon_harness.refserver import ServerProcess
from talon_harness.strategies.invalid import invalid_examples
from talon_harness.strategies.wire import PROFILE, SESSION, build_put

__all__ = [
    "PROBES", "ProbeResult", "acknowledged_write_durable", "concurrent_closes_all_counted",
    "invalid_bodies_rejected",
]

PROBES: tuple[str, ...] = ("acknowledged_write_durable", "concurrent_closes_all_counted", "invalid_bodies_rejected")


@dataclass(frozen=True)
class ProbeResult:
    """``passed`` False means the rule is broken; ``detail`` says what was expected and what came back."""

    rule: str
    passed: bool
    requests: int
    seconds: float
    detail: str = ""


def _put(client: httpx.Client, operation: str, entity_id: str, body: object) -> httpx.Response:
    prepared = build_put(operation, entity_id, body)
    return client.put(prepared.path, content=prepared.body, headers=prepared.headers)


def acknowledged_write_durable(server: ServerProcess, *, writes: int = 20) -> ProbeResult:
    """See module docstring. `server` must be running; it is killed and restarted (new port)."""
    started, tag, requests = time.monotonic(), uuid.uuid4().hex[:8], 0
    acked: list[tuple[str, int]] = []
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        for i in range(writes):
            requests += 1
            if _put(client, PROFILE, f"durable-{tag}-{i}", {"attributes": {"n": i}}).status_code == 200:
                acked.append((f"durable-{tag}-{i}", i))
    server.kill()
    server.start()
    lost: list[str] = []
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        for profile_id, n in acked:
            requests += 1
            answer = _put(client, PROFILE, profile_id, {})
            data = answer.json() if answer.status_code == 200 else {}
            if (data.get("event") or {}).get("type") != "talon_profile_updated" or (
                    (data.get("profile") or {}).get("attributes") != {"n": n}):
                lost.append(profile_id)
    detail = f"{len(lost)} of {len(acked)} acknowledged profile writes missing after SIGKILL + restart"
    return ProbeResult("acknowledged_write_durable", not lost and len(acked) == writes, requests,
                       time.monotonic() - started, detail if lost else "")


async def _close_all(base_url: str, session_ids: list[str]) -> list[int]:
    limits = httpx.Limits(max_connections=len(session_ids))
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
        async def close(session_id: str) -> int:
            prepared = build_put(SESSION, session_id, {"state": "closed"})
            answer = await client.put(prepared.path, content=prepared.body, headers=prepared.headers)
            return answer.status_code

        return list(await asyncio.gather(*(close(s) for s in session_ids)))


def concurrent_closes_all_counted(base_url: str, *, sessions: int = 20, total: float = 2.5) -> ProbeResult:
    """See module docstring."""
    started, tag = time.monotonic(), uuid.uuid4().hex[:8]
    profile_id = f"concurrent-{tag}"
    ids = [f"concurrent-{tag}-{i}" for i in range(sessions)]
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for session_id in ids:
            _put(client, SESSION, session_id, {"profileId": profile_id, "total": total})
        statuses = asyncio.run(_close_all(base_url, ids))
        answer = _put(client, PROFILE, profile_id, {})
    profile = (answer.json() if answer.status_code == 200 else {}).get("profile") or {}
    closed = sum(status == 200 for status in statuses)
    got = (profile.get("closedSessions"), profile.get("totalSales"))
    ok = got[0] == closed and isinstance(got[1], (int, float)) and abs(got[1] - closed * total) < 1e-9
    detail = f"{closed} concurrent closes acknowledged, profile shows closedSessions={got[0]} totalSales={got[1]}"
    return ProbeResult("concurrent_closes_all_counted", ok and closed == sessions, 2 * sessions + 1,
                       time.monotonic() - started, "" if ok else detail)


def invalid_bodies_rejected(base_url: str, *, seed: int = 0, per_rule: int = 3) -> ProbeResult:
    """See module docstring. The first accepted (or wrongly answered) invalid body fails the probe."""
    started, requests = time.monotonic(), 0
    examples = [e for operation in (SESSION, PROFILE)
                for e in invalid_examples(operation, seed=seed, per_rule=per_rule)]  # every rule once first
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for invalid in examples:
            requests += 1
            prepared = build_put(invalid.operation, f"invalid-{uuid.uuid4().hex[:12]}", invalid.body,
                                 content_type=invalid.content_type)
            answer = client.put(prepared.path, content=prepared.body, headers=prepared.headers)
            if answer.status_code != invalid.status:
                return ProbeResult("invalid_bodies_rejected", False, requests, time.monotonic() - started,
                                   f"[{invalid.breaks}] expected {invalid.status}, got {answer.status_code} "
                                   f"for {prepared.body[:120]!r}")
    return ProbeResult("invalid_bodies_rejected", True, requests, time.monotonic() - started)
