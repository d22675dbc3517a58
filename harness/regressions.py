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

A failure that one replay on a fresh faulty server does not reproduce may be intermittent (a random 503):
the entity closure is then sent up to ``rounds_for`` times back to back to one fresh faulty and one fresh
correct server, round against round. If some rounds differ, the harness says so ("intermittent: m of n
replays ...") and the files replay that many rounds, each judged against the correct server's same
round; the request bytes stay as recorded (no id is rewritten: lengths, encodings and signatures hold),
so rounds after the first meet entities the earlier rounds created, on both servers alike. No ddmin pass
then: a random outcome would mislead it.

The correct answer at each step is what a fresh reference server answers to the same sequence
(``normalise``d: timestamps and tenant ids by presence and type, event ids by order). Files
(``harness._regression_files``): ``regressions/test_<check>_<n>.py`` (pytest; needs only pytest and httpx,
plus talon_harness when ``TALON_BASE_URL`` is unset, to start the embedded server) and
``regressions/replay_<check>_<n>.sh``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from talon_harness.contracts import oracle
from talon_harness.contracts.oracle import EFFECT_FIELDS, Step, entity_closure
from talon_harness.contracts.settings import VIOLATIONS_FILE
from talon_harness.contracts.violation import read_records
from talon_harness.harness._regression_files import render_curl, render_pytest
from talon_harness.harness.target import reference_server
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import PROFILE, SESSION, Credentials, auth_headers, build_put

__all__ = ["ReplayTarget", "failures_of", "minimise", "replay", "replay_verdicts", "rounds_for", "write_regressions"]

_MAX_TESTS = 24  # ddmin replays per failure (each starts two servers)
_MAX_SECONDS = 60.0
_MAX_WIDER = 200  # earlier requests a delta-debugging pass may start from when the entity closure is not enough
_MAX_ROUNDS = 200  # back-to-back replays of a sequence that one replay does not reproduce
_ROUND_REQUESTS = 1000  # requests those replays may send in all (loopback: a few seconds)


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
    """Distinct failures in the event stream, in order: (check, case id, title). A domain rule's (or the
    oracle's) title line is its typed record's (``violations.ndjson`` beside the stream); schemathesis'
    message only for its built-in checks."""
    found: dict[tuple[str, str], tuple[str, str, str]] = {}
    if not ndjson.exists():
        return []
    records = read_records(ndjson.with_name(VIOLATIONS_FILE))
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
                record = records.get((case_id, result["name"]))
                first = record.text() if record is not None else str(failure.get("message", ""))
                title = f'{failure.get("title", "")}: {first.split(chr(10), 1)[0]}'
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
    return reference_server(creds, faults=faults, rules_file=target.rules, quiet=True)


def expected_answers(steps: list[Step], target: ReplayTarget, creds: Credentials | None) -> list[dict[str, Any]]:
    """What a fresh correct reference server answers to ``steps``."""
    with _server((), target, creds) as server:
        return replay(server.base_url, steps, creds, target.compare_exclude)


def rounds_for(steps: list[Step]) -> int:
    """How many times an intermittent sequence is sent back to back: 200, fewer for a long one (at most 1000
    requests in all), at least 1."""
    return max(1, min(_MAX_ROUNDS, _ROUND_REQUESTS // max(1, len(steps))))


def _side_by_side(steps: list[Step], target: ReplayTarget, creds: Credentials | None, rounds: int = 1,
                  ) -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
    """``steps`` sent ``rounds`` times back to back to a fresh faulty and a fresh correct server (started side
    by side): the normalised answers of each round, faulty then correct."""
    assert target.faults is not None
    servers = [_server(target.faults, target, creds), _server((), target, creds)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(ServerProcess.start, servers))
    try:
        answers = [replay(s.base_url, steps * rounds, creds, target.compare_exclude) for s in servers]
    finally:
        for server in servers:
            server.stop()
    size = len(steps)
    faulty, correct = ([got[i:i + size] for i in range(0, len(got), size)] for got in answers)
    return faulty, correct


def _differ(faulty: list[dict[str, Any]], correct: list[dict[str, Any]]) -> bool:
    return any(oracle.differences(a, b) for a, b in zip(faulty, correct, strict=True))


def _reproduces(steps: list[Step], target: ReplayTarget, creds: Credentials | None) -> bool:
    """Replayed once on a fresh faulty and a fresh correct server, the answers differ."""
    faulty, correct = _side_by_side(steps, target, creds)
    return _differ(faulty[0], correct[0])


def _intermittent(steps: list[Step], target: ReplayTarget, creds: Credentials | None,
                  ) -> tuple[list[int], list[list[dict[str, Any]]]]:
    """``steps`` sent ``rounds_for(steps)`` times back to back, round against round: the rounds (from 1) in
    which the faulty server's answers differ, and the correct server's answers per round."""
    faulty, correct = _side_by_side(steps, target, creds, rounds_for(steps))
    return [n for n, pair in enumerate(zip(faulty, correct), 1) if _differ(*pair)], correct


def _settled(rounds: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """``rounds`` without the trailing rounds equal to the one before them (a file stores each answer once)."""
    kept = list(rounds)
    while len(kept) > 1 and json.dumps(kept[-1], sort_keys=True) == json.dumps(kept[-2], sort_keys=True):
        kept.pop()
    return kept


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


def _sequence(prefix: list[Step], keep: list[Step], wider: list[Step], target: ReplayTarget,
              creds: Credentials | None) -> tuple[list[Step], str, int, list[list[dict[str, Any]]]]:
    """The sequence a file replays, how it was found, how many times it is sent back to back, and the correct
    server's answers per round (settled: trailing repeats dropped). ``prefix + keep`` is the entity closure,
    ``wider`` every earlier request (tried when the closure does not reproduce the failure)."""
    if target.faults is None:
        how = "the target cannot be restarted here: every earlier request that touched these entities"
        return prefix + keep, how, 1, [expected_answers(prefix + keep, target, creds)]
    if _reproduces(prefix + keep, target, creds):
        start = "entity closure"
    elif len(wider) > len(prefix) and _reproduces(wider + keep, target, creds):  # the fault may link entities
        prefix, start = wider, "every earlier request"  # the closure cannot see (e.g. ids alike in a prefix)
    else:
        diverged, correct = _intermittent(prefix + keep, target, creds)
        if not diverged:
            how = "NOT reproduced on a fresh instance of the faulty target: the failure needs more than this sequence"
            return prefix + keep, how, 1, correct[:1]
        how = (f"intermittent: one replay on a fresh faulty target does not reproduce it; {len(diverged)} of "
               f"{len(correct)} replays sent back to back to one fresh faulty target differ, the first in replay "
               f"{diverged[0]}: the entity closure, not shrunk")
        return prefix + keep, how, len(correct), _settled(correct)
    before = len(prefix)
    prefix = minimise(prefix, keep, lambda candidate: _reproduces(candidate, target, creds))
    how = f"{start} of {before + len(keep)} shrunk by a delta-debugging pass on fresh faulty servers"
    return prefix + keep, how, 1, [expected_answers(prefix + keep, target, creds)]


def write_regressions(ndjson: Path | None, journal: Path | None, folder: Path, *, creds: Credentials | None,
                      target: ReplayTarget, limit: int = 5,
                      witness_failures: Sequence[tuple[str, str, str]] = (),
                      witness_steps: Sequence[Step] = (),
                      note: Callable[[str], None] = lambda _: None) -> tuple[Path, ...]:
    """Write one pytest file and one curl script per distinct failure (at most ``limit``); return the
    pytest files. ``witness_failures`` (check, case id, title) and ``witness_steps`` (the witness phase's
    journal, sent before schemathesis' requests) come first. Failures whose request is not in a journal are
    skipped. ``note`` hears, per file, how its sequence was found when it is not a deterministic one."""
    steps = [*witness_steps, *(_journal(journal) if journal else [])]
    written: list[Path] = []
    counters: dict[str, int] = {}
    for check, case_id, title in [*witness_failures, *(failures_of(ndjson) if ndjson else [])]:
        if len(written) >= limit:
            break
        sequence = sequence_for(steps, case_id, creds)
        if sequence is None:
            continue
        final, how, rounds, expected = _sequence(*sequence, _everything_before(steps, case_id), target, creds)
        n = counters[check] = counters.get(check, 0) + 1
        folder.mkdir(parents=True, exist_ok=True)
        test_path = folder / f"test_{check}_{n}.py"
        test_path.write_text(render_pytest(check, n, title, final, expected[0], target.compare_exclude, how,
                                           target.rules, rounds=rounds, later=expected[1:]), encoding="utf-8")
        script = folder / f"replay_{check}_{n}.sh"
        script.write_text(render_curl(check, n, final, rounds), encoding="utf-8")
        script.chmod(0o755)
        written.append(test_path)
        if how.startswith(("intermittent", "NOT")):
            note(f"{test_path.name}: {how}")
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
            proc = subprocess.run([sys.executable, "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                                   str(test_file.parent), str(test_file)], env=env, cwd=test_file.parent,
                                  capture_output=True, timeout=timeout, check=False)
            outcomes.append(proc.returncode)
    return outcomes[0] == 1, outcomes[1] == 0
