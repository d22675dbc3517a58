"""Every failure of a check run as a replayable minimal sequence: a pytest file and a curl script.

``write_regressions`` reads schemathesis' event stream (which case failed which check) and the run's
journal (``contracts.oracle``: every request in the order sent), after the witness phase's failures and
journal (``contracts.witness.WitnessResult``). For each distinct failure it takes the
failing request, every earlier request that touched the entities involved (transitively, see
``entity_closure``) and a read-back ``PUT {}`` of each of those entities (so a rejected call that changed
state shows). When the target is a refserver the harness can start again (``ReplayTarget.faults`` not
None: selftest, tests) a delta-debugging pass (ddmin) then drops every request the failure does not need,
replaying candidates on fresh faulty and fresh correct servers. Any other target cannot be reset to
empty, so its sequence stays the entity closure (said in the file).

The correct answer at each step is what a fresh reference server answers to the same sequence
(``normalise``d: timestamps and tenant ids dropped, event ids by order). Files:
``regressions/test_<check>_<n>.py`` (pytest; needs only pytest and httpx, plus talon_harness when
``TALON_BASE_URL`` is unset, to start the embedded server) and ``regressions/replay_<check>_<n>.sh``.
"""

from __future__ import annotations

import base64
import inspect
import json
import shlex
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from talon_harness.contracts import oracle
from talon_harness.contracts.oracle import EFFECT_FIELDS, Step, entity_closure
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import PROFILE, SESSION, Credentials, auth_headers, build_put

__all__ = ["ReplayTarget", "failures_of", "minimise", "replay", "replay_verdicts", "write_regressions"]

_MAX_TESTS = 24  # ddmin replays per failure (each starts two servers)
_MAX_SECONDS = 60.0
_MAX_WIDER = 200  # earlier requests a delta-debugging pass may start from when the entity closure is not enough


@dataclass(frozen=True)
class ReplayTarget:
    """How to judge a sequence: ``faults`` of a restartable refserver target (None: not restartable), the
    oracle's rule file, the excluded fields, and whether effects/discounts are compared."""

    faults: tuple[str, ...] | None = None
    rules: Path | None = None
    exclude: tuple[str, ...] = ()
    effects: bool = True

    @property
    def compare_exclude(self) -> tuple[str, ...]:
        return self.exclude + (() if self.effects else EFFECT_FIELDS)


def failures_of(ndjson: Path) -> list[tuple[str, str, str]]:
    """Distinct failures in the event stream, in order: (check, case id, title)."""
    found: dict[tuple[str, str], tuple[str, str, str]] = {}
    if not ndjson.exists():
        return []
    for line in ndjson.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"failure"' not in line or "ScenarioFinished" not in line:
            continue
        try:
            recorder = json.loads(line)["ScenarioFinished"]["recorder"]
        except (ValueError, KeyError):
            continue
        for case_id, results in (recorder.get("checks") or {}).items():
            for result in results:
                if result.get("status") != "failure":
                    continue
                failure = (result.get("failure_info") or {}).get("failure", {})
                title = f'{failure.get("title", "")}: {str(failure.get("message", "")).split(chr(10), 1)[0]}'
                found.setdefault((result["name"], title), (result["name"], case_id, title))
    return list(found.values())


def _journal(path: Path) -> list[Step]:
    steps = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            steps.append(Step.from_json(data) if not data.get("read_back") else
                         Step.from_json({**data, "case_id": "read-back"}))
    return steps


def read_backs(entities: frozenset[tuple[str, str]], creds: Credentials | None) -> list[Step]:
    """``PUT {}`` (a read: the API has no GET) of every session, then every profile, among ``entities``."""
    out = []
    for kind, entity_id in sorted(entities):
        put = build_put(SESSION if kind == "session" else PROFILE, entity_id, {}, creds=creds)
        out.append(Step(0, "PUT", put.path, "application/json", put.body, frozenset({(kind, entity_id)})))
    return out


def sequence_for(steps: list[Step], case_id: str, creds: Credentials | None) -> tuple[list[Step], list[Step]] | None:
    """``(earlier, failing)`` for the last journalled request of ``case_id``: the earlier requests of its entity
    closure, and the failing request followed by the read-backs of its entities; None if not journalled."""
    index = next((i for i in range(len(steps) - 1, -1, -1) if steps[i].case_id == case_id), None)
    if index is None:
        return None
    chosen = entity_closure(steps, index)
    return chosen[:-1], [chosen[-1], *read_backs(steps[index].entities, creds)]


def _everything_before(steps: list[Step], case_id: str) -> list[Step]:
    """Every request before the last one of ``case_id`` (at most ``_MAX_WIDER``, else none): the fallback when
    the entity closure does not reproduce a failure on a fresh faulty server."""
    index = next((i for i in range(len(steps) - 1, -1, -1) if steps[i].case_id == case_id), 0)
    return steps[:index] if index <= _MAX_WIDER else []


def replay(base_url: str, steps: list[Step], creds: Credentials | None, exclude: tuple[str, ...]) -> list[dict[str, Any]]:
    """Send ``steps`` in order (each re-signed) and return the normalised answers (event ids by order)."""
    answers = []
    last: int | None = None
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        for step in steps:
            headers = {"Content-Type": step.content_type} if step.content_type else {}
            if step.authenticated:
                headers.update(auth_headers(creds, step.body))
            try:
                response = client.request(step.method, step.path, content=step.body, headers=headers)
            except httpx.HTTPError as exc:
                answers.append({"status": f"no answer: {type(exc).__name__}"})
                continue
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text[:500]
            got = oracle.normalise(response.status_code, response.headers.get("content-type", ""), body, exclude)
            label, last = oracle.event_order(response.status_code, body, last)
            if label is not None and not oracle.excluded("event.id", exclude):
                got["event.id"] = label
            answers.append(got)
    return answers


def _server(faults: tuple[str, ...], target: ReplayTarget, creds: Credentials | None) -> ServerProcess:
    return ServerProcess(faults=faults, rules_file=target.rules, quiet=True,
                         api_key=creds.api_key if creds else None, hmac_key=creds.hmac_key if creds else None,
                         application_id=(creds.hmac_application_id if creds else None) or 1)


def expected_answers(steps: list[Step], target: ReplayTarget, creds: Credentials | None) -> list[dict[str, Any]]:
    """What a fresh correct reference server answers to ``steps``."""
    with _server((), target, creds) as server:
        return replay(server.base_url, steps, creds, target.compare_exclude)


def _reproduces(steps: list[Step], target: ReplayTarget, creds: Credentials | None) -> bool:
    """Replayed on a fresh faulty and a fresh correct server (started side by side), the answers differ."""
    assert target.faults is not None
    servers = [_server(target.faults, target, creds), _server((), target, creds)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(ServerProcess.start, servers))
    try:
        faulty, correct = (replay(s.base_url, steps, creds, target.compare_exclude) for s in servers)
    finally:
        for server in servers:
            server.stop()
    return any(oracle.differences(a, b) for a, b in zip(faulty, correct, strict=True))


def minimise(prefix: list[Step], keep: list[Step], test: Callable[[list[Step]], bool],
             max_tests: int = _MAX_TESTS, max_seconds: float = _MAX_SECONDS) -> list[Step]:
    """ddmin (Zeller) over ``prefix``: a smaller list such that ``test(subset + keep)`` still holds, within
    ``max_tests`` calls and ``max_seconds``. ``test(prefix + keep)`` is assumed true."""
    deadline, tests = time.monotonic() + max_seconds, 0
    current, n = list(prefix), 2
    while len(current) >= 1 and tests < max_tests and time.monotonic() < deadline:
        if len(current) == 1:
            tests += 1
            return [] if test(keep) else current
        size = max(1, len(current) // n)
        chunks = [current[i:i + size] for i in range(0, len(current), size)]
        reduced = False
        for i in range(len(chunks)):
            complement = [s for j, c in enumerate(chunks) if j != i for s in c]
            tests += 1
            if test(complement + keep):
                current, n, reduced = complement, max(n - 1, 2), True
                break
            if tests >= max_tests or time.monotonic() >= deadline:
                break
        if not reduced:
            if n >= len(current):
                break
            n = min(len(current), n * 2)
    return current


_EMBEDDED = ("DROPPED", "excluded", "_flatten", "normalise", "event_order", "differences", "_same")


def _embedded_source() -> str:
    parts = [f"DROPPED = {oracle.DROPPED!r}\n"]
    parts += [inspect.getsource(getattr(oracle, name)) for name in _EMBEDDED[1:]]
    return "\n\n".join(parts)


def render_pytest(check: str, n: int, title: str, steps: list[Step], expected: list[dict[str, Any]],
                  exclude: tuple[str, ...], how: str, rules: Path | None) -> str:
    """A standalone pytest module replaying ``steps`` and asserting ``expected`` at each one."""
    data = [{"method": s.method, "path": s.path, "content_type": s.content_type,
             "body": base64.b64encode(s.body).decode(), "authenticated": s.authenticated,
             "shown": s.body.decode("utf-8", "backslashreplace")[:200], "expected": e}
            for s, e in zip(steps, expected, strict=True)]
    steps_text = json.dumps(data, indent=1, ensure_ascii=True)
    doc = (f'"""Regression: `{check}` failure #{n} found by talon-harness check.\n\n{title[:300]}\n\n'
           f"{len(steps)} request(s) from a fresh target ({how}). Replays them against $TALON_BASE_URL (default:\n"
           "a fresh embedded reference server) and asserts at each step the answer a correct reference server\n"
           "gives (normalised: timestamps and tenant ids dropped, event ids by order). Credentials, when the\n"
           "target needs them: TALON_API_KEY, TALON_HMAC=APP_ID:KEY (each body HMAC-signed). Generated by\n"
           'talon-harness (harness/regressions.py); needs pytest and httpx only when TALON_BASE_URL is set.\n"""\n')
    return f'''{doc}
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

EXCLUDE: tuple[str, ...] = {exclude!r}
RULES: str | None = {str(rules) if rules else None!r}
STEPS: list[dict[str, Any]] = json.loads(r"""{steps_text}""")

{_embedded_source()}

def _headers(step: dict[str, Any], body: bytes) -> dict[str, str]:
    headers = {{"Content-Type": step["content_type"]}} if step["content_type"] else {{}}
    if not step["authenticated"]:
        return headers
    if os.environ.get("TALON_API_KEY"):
        headers["Authorization"] = "ApiKey-v1 " + os.environ["TALON_API_KEY"]
    app_id, _, key = os.environ.get("TALON_HMAC", "").partition(":")
    if key:
        digest = hmac.new(bytes.fromhex(key), body, hashlib.md5).hexdigest()
        headers["Content-Signature"] = f"signer={{app_id}}; signature={{digest}}"
    return headers


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    if os.environ.get("TALON_BASE_URL"):
        yield os.environ["TALON_BASE_URL"].rstrip("/")
        return
    refserver = pytest.importorskip("talon_harness.refserver")
    with refserver.ServerProcess(quiet=True, rules_file=RULES) as server:
        yield server.base_url


def test_replay(base_url: str) -> None:
    last = None
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        for index, step in enumerate(STEPS, 1):
            body = base64.b64decode(step["body"])
            response = client.request(step["method"], step["path"], content=body, headers=_headers(step, body))
            try:
                answer = response.json()
            except ValueError:
                answer = response.text[:500]
            got = normalise(response.status_code, response.headers.get("content-type", ""), answer, EXCLUDE)
            label, last = event_order(response.status_code, answer, last)
            if label is not None and not excluded("event.id", EXCLUDE):
                got["event.id"] = label
            diff = differences(got, step["expected"])
            assert not diff, (f"step {{index}}/{{len(STEPS)}} {{step['method']}} {{step['path'][:120]}} {{step['shown']}}\\n"
                              f"differs at {{diff}}\\n"
                              f"got:      {{ {{k: got.get(k, '(absent)') for k in diff}} }}\\n"
                              f"expected: {{ {{k: step['expected'].get(k, '(absent)') for k in diff}} }}")
'''


def render_curl(check: str, n: int, steps: list[Step]) -> str:
    """A bash script of curl calls; credentials from the environment, each body HMAC-signed with openssl."""
    lines = ["#!/usr/bin/env bash",
             f"# Regression: `{check}` failure #{n} (talon-harness). {len(steps)} request(s), from a fresh target.",
             "# TALON_BASE_URL (default http://127.0.0.1:8000); TALON_API_KEY and TALON_HMAC=APP_ID:KEY if needed.",
             "set -euo pipefail", 'BASE="${TALON_BASE_URL:-http://127.0.0.1:8000}"',
             'BODY="$(mktemp)"; trap \'rm -f "$BODY"\' EXIT',
             "send() {  # send METHOD PATH CONTENT_TYPE AUTH BASE64_BODY",
             '  printf %s "$5" | base64 -d > "$BODY"',
             '  local args=(-sS -X "$1" -w \'\\n  -> HTTP %{http_code}\\n\')',
             '  [ -n "$3" ] && args+=(-H "Content-Type: $3")',
             '  if [ "$4" = 1 ] && [ -n "${TALON_API_KEY:-}" ]; then args+=(-H "Authorization: ApiKey-v1 $TALON_API_KEY"); fi',
             '  if [ "$4" = 1 ] && [ -n "${TALON_HMAC:-}" ]; then',
             '    local sig; sig=$(openssl dgst -md5 -mac HMAC -macopt "hexkey:${TALON_HMAC#*:}" "$BODY" | sed \'s/^.*= //\')',
             '    args+=(-H "Content-Signature: signer=${TALON_HMAC%%:*}; signature=$sig")',
             "  fi",
             '  curl "${args[@]}" --data-binary @"$BODY" "$BASE$2"',
             "}"]
    for index, step in enumerate(steps, 1):
        shown = step.body.decode("utf-8", "backslashreplace")[:200].replace("\n", " ")
        lines.append(f"# {index}. {step.method} {step.path} {shown}")
        lines.append(f"send {shlex.quote(step.method)} {shlex.quote(step.path)} {shlex.quote(step.content_type)} "
                     f"{int(step.authenticated)} {shlex.quote(base64.b64encode(step.body).decode())}")
    return "\n".join(lines) + "\n"


def write_regressions(ndjson: Path | None, journal: Path | None, folder: Path, *, creds: Credentials | None,
                      target: ReplayTarget, limit: int = 5,
                      witness_failures: Sequence[tuple[str, str, str]] = (),
                      witness_steps: Sequence[Step] = ()) -> tuple[Path, ...]:
    """Write one pytest file and one curl script per distinct failure (at most ``limit``); return the
    pytest files. ``witness_failures`` (check, case id, title) and ``witness_steps`` (the witness phase's
    journal, sent before schemathesis' requests) come first. Failures whose request is not in a journal are
    skipped."""
    steps = [*witness_steps, *(_journal(journal) if journal else [])]
    written: list[Path] = []
    counters: dict[str, int] = {}
    for check, case_id, title in [*witness_failures, *(failures_of(ndjson) if ndjson else [])]:
        if len(written) >= limit:
            break
        sequence = sequence_for(steps, case_id, creds)
        if sequence is None:
            continue
        prefix, keep = sequence
        start = "entity closure"
        reproduced = target.faults is not None and _reproduces(prefix + keep, target, creds)
        if target.faults is not None and not reproduced:  # the fault may link entities the closure cannot see
            wider = _everything_before(steps, case_id)  # (e.g. ids alike in a prefix): start from everything before
            if len(wider) > len(prefix) and _reproduces(wider + keep, target, creds):
                prefix, start, reproduced = wider, "every earlier request", True
        if target.faults is None:
            how = "the target cannot be restarted here: every earlier request that touched these entities"
        elif not reproduced:
            how = "NOT reproduced on a fresh instance of the faulty target: the failure needs more than this sequence"
        else:
            before = len(prefix)
            prefix = minimise(prefix, keep, lambda candidate: _reproduces(candidate, target, creds))
            how = f"{start} of {before + len(keep)} shrunk by a delta-debugging pass on fresh faulty servers"
        final = prefix + keep
        expected = expected_answers(final, target, creds)
        n = counters[check] = counters.get(check, 0) + 1
        folder.mkdir(parents=True, exist_ok=True)
        test_path = folder / f"test_{check}_{n}.py"
        test_path.write_text(render_pytest(check, n, title, final, expected, target.compare_exclude, how,
                                           target.rules), encoding="utf-8")
        script = folder / f"replay_{check}_{n}.sh"
        script.write_text(render_curl(check, n, final), encoding="utf-8")
        script.chmod(0o755)
        written.append(test_path)
    return tuple(written)


def replay_verdicts(test_file: Path, faults: tuple[str, ...], timeout: float = 120.0) -> tuple[bool, bool]:
    """Run an emitted regression file with pytest in a subprocess against a fresh server with ``faults``
    and against a fresh correct one: ``(failed on the faulty server, passed on the correct one)``."""
    import os
    import subprocess
    import sys

    outcomes = []
    for chosen in (faults, ()):
        with ServerProcess(faults=chosen, quiet=True) as server:
            env = {**os.environ, "TALON_BASE_URL": server.base_url}
            proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                                   str(test_file.parent), str(test_file)], env=env, cwd=test_file.parent,
                                  capture_output=True, timeout=timeout, check=False)
            outcomes.append(proc.returncode)
    return outcomes[0] == 1, outcomes[1] == 0
