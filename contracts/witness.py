"""The witness phase: sends the witness sequences (``contracts.sequences``) and judges every answer.

``run_witnesses`` sends them over HTTP (httpx, bounded timeouts, the run's credentials signed per request)
and feeds every answer through the model exactly like the schemathesis runtime does (``Exchange`` ->
``Model.observe`` -> ``Observation``, with the step's invalid-body tag and, on ``READ_BACK_WITNESSES``, a
``PUT {}`` read-back). Each observation goes to every judge of the run (``contracts.judges``: by default
the rules of ``contracts.domain``, so a witness failure is a failure of the same rule name, plus the judges
standing in for schemathesis' built-in checks). The phase keeps every request it sent as a
``contracts.oracle.Step`` (``WitnessResult.journal``), so a witness failure is a replayable sequence like a
schemathesis one (``harness.regressions``). Requests counted include the ``PUT {}`` read-backs.

A ``deadline`` bounds the phase in time (``harness.check`` gives it the check's ``--max-time``): no step is
sent once it has passed; the step in flight then still finishes (its request and read-back, each bounded by
the request timeout) and is judged, and the witnesses not sent in full are ``WitnessResult.not_run``.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpx

from talon_harness.contracts import oracle as reference
from talon_harness.contracts.judges import DEFAULT_JUDGES, Judge, Sent, reference_judge
from talon_harness.contracts.model import Exchange, Model, Observation
from talon_harness.contracts.runtime import CheckRuntime, probe
from talon_harness.contracts.sequences import (
    JUDGE_WITNESSES,
    READ_BACK_WITNESSES,
    RULE_WITNESSES,
    WITNESSES,
    Step,
    Witness,
)
from talon_harness.contracts.violation import Violation
from talon_harness.strategies.wire import Credentials, build_put

__all__ = [
    "DEFAULT_JUDGES", "JUDGE_WITNESSES", "READ_BACK_WITNESSES", "RULE_WITNESSES", "WITNESSES", "Judge", "Sent", "Step",
    "Witness", "WitnessFailure", "WitnessResult", "fresh_prefix", "reference_judge", "run_witnesses",
]


@dataclass(frozen=True)
class WitnessFailure:
    """A check that failed on a witness answer; the request is what went on the wire (for a curl line)."""

    check: str
    witness: str
    step: str
    violation: Violation
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    request_number: int  # 1-based position of the failing request in the phase
    case_id: str = ""  # the request's ``case_id`` in ``WitnessResult.journal``

    @property
    def message(self) -> str:
        """The violation as every report prints it (``Violation.text``)."""
        return self.violation.text()


@dataclass(frozen=True)
class WitnessResult:
    """The phase: requests sent (probes included), per-witness (requests, failed requests), failed answers per
    check, failures (one per check and witness), and an error when the target could not be tested."""

    requests: int
    seconds: float
    witnesses: dict[str, tuple[int, int]]
    checks: Counter[str]
    failures: tuple[WitnessFailure, ...]
    first_failure_request: int | None = None
    seconds_to_first_failure: float | None = None
    error: str = ""
    steps: int = 0  # PUTs the phase was to send (probes not included)
    stopped_answering: bool = False  # the error is a timeout after the target had answered: its failure
    journal: tuple[reference.Step, ...] = ()  # every PUT sent, in order (read-back probes not included)
    planned: int = 0  # witnesses the phase was to run
    not_run: tuple[str, ...] = ()  # witnesses not sent in full: the deadline ended the phase before their end

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return tuple(sorted({f.check for f in self.failures}))

    @property
    def ran(self) -> int:
        """``planned`` less ``not_run``: the witnesses the deadline did not cut (an error or a first failure
        stops the phase too: ``error`` and ``failures`` say so)."""
        return self.planned - len(self.not_run)


class _ReadBacks:
    """The ``PUT {}`` read-backs of one phase: ``for_step`` gives a step's observation its read-back (on the
    READ_BACK_WITNESSES only); ``sent`` counts the ones a rule asked for; ``timed_out``: the path of one that got
    no answer within the probe timeout (the target stopped answering), else ""."""

    def __init__(self, runtime: CheckRuntime) -> None:
        self.runtime = runtime
        self.sent = 0
        self.timed_out = ""

    def for_step(self, witness: str, obs: Observation) -> Observation:
        x = obs.exchange
        if witness not in READ_BACK_WITNESSES or x.entity_id is None or x.operation is None:
            return obs
        read = functools.partial(probe, self.runtime, x.url, x.operation, x.entity_id)

        def read_back() -> Observation | None:
            self.sent += 1
            begun = time.monotonic()
            observed = read()
            if observed is None and time.monotonic() - begun >= self.runtime.probe_timeout:
                self.timed_out = urlsplit(x.url).path
            return observed

        return replace(obs, read_back=read_back)


def fresh_prefix() -> str:
    """A new id prefix (upper case included, so a server that folds case shows it)."""
    return "W" + uuid.uuid4().hex[:12].upper()


def run_witnesses(base_url: str, *, credentials: Credentials | None = None, timeout: float = 10.0,
                  judges: Sequence[Judge] = DEFAULT_JUDGES, names: Sequence[str] | None = None,
                  stop_at_first_failure: bool = False, prefix: str | None = None,
                  only: Sequence[str] = (), exclude: Sequence[str] = (),
                  table: Mapping[str, Witness] = WITNESSES, deadline: float | None = None) -> WitnessResult:
    """Send the witnesses (all, or ``names`` in table order) to ``base_url`` and judge every answer.

    Never raises for the target's behaviour: a transport error or timeout ends the phase with ``error``
    set (the harness could not test the target). ``stop_at_first_failure`` stops after the first failing
    answer. Ids start with ``prefix`` (default: ``fresh_prefix()``), so the model knows them absent.
    ``only`` / ``exclude``: check names whose findings count (empty ``only``: all), like ``--checks``.
    ``table``: the witnesses of the API under test (``contracts.apis.witness_table``; default v1's).
    ``deadline``: a ``time.monotonic()`` instant after which no step is sent; the witnesses whose steps did not
    all go out are ``not_run`` (the steps that did are judged like any other).
    """
    chosen = [w for w in table.values() if names is None or w.name in names]
    prefix = prefix or fresh_prefix()
    runtime = CheckRuntime(model=Model(fresh=True, strict_order=True), credentials=credentials,
                           probe_timeout=timeout)
    read_backs = _ReadBacks(runtime)
    started = time.monotonic()
    requests = 0
    per_witness: dict[str, tuple[int, int]] = {}
    per_check: Counter[str] = Counter()
    failures: dict[tuple[str, str], WitnessFailure] = {}
    first: tuple[int, float] | None = None
    journal: list[reference.Step] = []
    steps = [(w.name, step) for n, w in enumerate(chosen) for step in w.build(f"{prefix}{n}")]
    root = base_url.rstrip("/")

    def ended(error: str = "", *, stopped: bool = False, not_run: tuple[str, ...] = ()) -> WitnessResult:
        return WitnessResult(requests, time.monotonic() - started, per_witness, per_check, tuple(failures.values()),
                             first[0] if first else None, first[1] if first else None, error, len(steps), stopped,
                             tuple(journal), len(chosen), not_run)

    with httpx.Client(timeout=httpx.Timeout(timeout)) as client:
        for index, (witness, step) in enumerate(steps):
            if deadline is not None and time.monotonic() >= deadline:
                return ended(not_run=tuple(dict.fromkeys(name for name, _ in steps[index:])))
            case_id = f"{prefix}-{index}"
            put = build_put(step.operation, step.entity_id, step.body, creds=credentials,
                            content_type=step.invalid.content_type if step.invalid else "application/json",
                            query=step.query)
            url = root + put.path
            try:
                answer = client.put(url, content=put.body, headers=put.headers)
            except httpx.TimeoutException as exc:
                if not requests:
                    return ended(f"{type(exc).__name__}, timed out after {timeout:g} s at request 1")
                return ended(f"the target stopped answering: {type(exc).__name__}, timed out after {timeout:g} s "
                             f"at request {requests + 1} (PUT {put.path[:120]}, witness phase); {requests} "
                             f"requests were answered before", stopped=True)
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if not requests:  # a broken answer after answered ones is the target's failure, as in st run
                    return ended(f"witness {witness} ({step.step}): {type(exc).__name__}: {exc}")
                return ended(f"the target stopped answering: {type(exc).__name__}, broke the response "
                             f"({' '.join(str(exc).split())[:120]}) at request {requests + 1} (PUT "
                             f"{put.path[:120]}, witness phase); {requests} requests were answered before",
                             stopped=True)
            except httpx.HTTPError as exc:
                return ended(f"witness {witness} ({step.step}): {type(exc).__name__}: {exc}")
            requests += 1
            try:
                parsed = answer.json() if answer.content else None
            except ValueError:
                parsed = None
            obs = runtime.model.observe(Exchange.of("PUT", url, put.body, put.headers, answer.status_code, parsed))
            obs = read_backs.for_step(witness, replace(obs, invalid=step.invalid))
            content_type = answer.headers.get("content-type", "")
            request = reference.Step(requests, "PUT", put.path, put.headers.get("Content-Type", ""), put.body,
                                     reference.touched("PUT", url, put.body, (reference.Answer(
                                         answer.status_code, content_type, parsed),)), case_id=case_id)
            journal.append(request)
            sent = Sent(witness, step, obs, content_type, request, answer.content)
            number, read_before = requests, read_backs.sent
            findings = [v for judge in judges for v in judge(sent)
                        if (not only or v.rule in only) and v.rule not in exclude]
            read = read_backs.sent - read_before
            requests += read
            per_check.update(v.rule for v in findings)
            sent_count, failed_count = per_witness.get(witness, (0, 0))
            per_witness[witness] = (sent_count + 1 + read, failed_count + bool(findings))
            for violation in findings:
                failures.setdefault((violation.rule, witness), WitnessFailure(
                    violation.rule, witness, step.step, replace(violation, case_id=case_id), "PUT", url, put.headers,
                    put.body, number, case_id))
            if findings and first is None:
                first = (number, time.monotonic() - started)
            if read_backs.timed_out:  # answers, then silence, like a PUT timing out below
                return ended(f"the target stopped answering: timed out after {timeout:g} s at request {requests} "
                             f"(PUT {read_backs.timed_out[:120]}, the read-back of witness {witness}, witness phase); "
                             f"{requests - 1} requests were answered before", stopped=True)
            if findings and stop_at_first_failure:
                break
    return ended()

