"""The differential oracle: every request the run sends is sent again to a fresh reference server.

Settings are the run's :class:`contracts.settings.CheckSettings` (``harness.check`` sets them and starts
the oracle server): ``oracle_url`` (None: the check skips), ``oracle_exclude`` (field names or paths left
out of the comparison), ``oracle_effects`` (compare ``event.effects`` and ``session.discounts`` too: both
servers run the same rule set, the embedded target's or ``--oracle-rules``), and ``journal`` (a file that
gets one JSON line per exchange, with or without the oracle, from which ``harness.regressions`` rebuilds
the sequence that led to a failure).

``record_exchange`` (an ``after_call`` hook, registered by ``contracts.hooks``) forwards each request, byte
for byte with its own headers, right after the target answered, so the oracle sees the same order. The
check ``matches_reference`` compares the two answers after :func:`normalise` (timestamps, ``accountId``,
``applicationId`` by presence and type, not value; event ids by order, see :func:`event_order`; v2 answers:
``contracts.oracle_v2``). An entity is compared from its first request that created it on both servers;
before that the comparison is not applicable. With several schemathesis workers only per-entity order
holds (not enforced), so event ids are checked for being integers only and concurrent requests on one
entity may diverge; use ``--workers 1`` (the default) with ``--oracle``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from talon_harness.contracts import _schemathesis as st_adapter
from talon_harness.contracts import oracle_v2
from talon_harness.contracts.model import PROFILE, SESSION, entity_of, valid_id
from talon_harness.contracts.runtime import probe, runtime_for
from talon_harness.contracts.settings import CheckSettings
from talon_harness.contracts.violation import Violation, ViolationError
from talon_harness.strategies.wire import build_put

__all__ = ["Answer", "OracleRuntime", "Step", "differences", "entity_closure", "event_order", "kind_of",
           "matches_reference", "normalise", "oracle_for", "record_exchange"]

#: Fields whose values legitimately differ between two correct servers (times, tenant ids): compared by
#: presence and kind (:func:`kind_of`), not by value. ``event.id`` is compared by order (:func:`event_order`).
BY_KIND: dict[str, str] = {"session.created": "timestamp", "session.applicationId": "integer",
                           "profile.created": "timestamp", "profile.accountId": "integer",
                           "profile.lastActivity": "timestamp", "event.created": "timestamp",
                           "event.applicationId": "integer", **oracle_v2.V2_BY_KIND}
RFC3339 = r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
#: Fields that depend on the campaigns configured (compared only when both servers run the same rules).
EFFECT_FIELDS: tuple[str, ...] = ("event.effects", "session.discounts", *oracle_v2.V2_EFFECT_FIELDS)
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding", "user-agent", "accept"})
_HISTORY = 20000
_ORACLE_ATTRIBUTE = "_talon_harness_oracle"  # where a run's OracleRuntime lives on its schema


def excluded(path: str, names: tuple[str, ...]) -> bool:
    """True when ``path`` (``session.cartItems.0.price``) is named by one of ``names`` (a path prefix or
    one segment name, e.g. ``firstSession`` or ``profile.totalSales``)."""
    parts = path.split(".")
    return any(path == n or path.startswith(n + ".") or n in parts for n in names)


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, out)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            _flatten(f"{prefix}.{index}", item, out)
    else:
        out[prefix] = value


def kind_of(kind: str, value: Any) -> str:
    """``kind`` when ``value`` is one (``"timestamp"``: an RFC 3339 date-time string; ``"integer"``), else a
    label saying what it is: ``kind_of("timestamp", "2026-01-01") == "not a timestamp: '2026-01-01'"``."""
    if kind == "integer":
        fits = isinstance(value, int) and not isinstance(value, bool)
    elif not isinstance(value, str) or re.fullmatch(RFC3339, value) is None:
        fits = False
    else:
        try:
            fits = bool(datetime.fromisoformat(value.upper()))
        except ValueError:  # the right shape but no date (month 13, second 61)
            fits = False
    return kind if fits else f"not a{'n' if kind[0] in 'aeiou' else ''} {kind}: {value!r}"


def normalise(status: int, content_type: str, body: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The comparable content of one answer as ``{field path: value}``: status, media type, the error
    pointers and titles (sorted) of a refusal, or every field of an acceptance (v1: of session, profile and
    event), the BY_KIND ones as their kind (a missing or mistyped ``created`` differs, another time does not),
    minus ``event.id`` (compared by order) and ``exclude``. Pure, stdlib only (regression files embed it)."""
    out: dict[str, Any] = {"status": status, "content-type": content_type.split(";")[0].strip().lower()}
    if not 200 <= status < 300:
        errors = body.get("errors") if isinstance(body, dict) else None
        pairs = []
        for error in errors if isinstance(errors, list) else []:
            source = error.get("source") if isinstance(error, dict) else None
            source = source if isinstance(source, dict) else {}
            where = source.get("pointer") if "pointer" in source else "parameter:" + str(source.get("parameter"))
            pairs.append([where, error.get("title") if isinstance(error, dict) else None])
        out["errors"] = sorted(pairs, key=json.dumps) if isinstance(errors, list) else body
    elif isinstance(body, dict):
        for top in body if "effects" in body else ("session", "profile", "event"):  # v2 answers have effects
            _flatten(top, body.get(top), out)
    else:
        out["body"] = body
    return {k: kind_of(BY_KIND[k], v) if k in BY_KIND else v for k, v in out.items()
            if not excluded(k, ("event.id", *exclude))}


def event_order(status: int, body: Any, last: int | None) -> tuple[str | None, int | None]:
    """Event ids compared by order, not value: ``("increasing", id)`` for an integer id greater than
    ``last`` (the previous one on the same server), else a label saying what is wrong. ``(None, last)``
    when the answer has no event (a refusal)."""
    if not 200 <= status < 300 or not isinstance(body, dict) or not isinstance(body.get("event"), dict):
        return None, last
    value = body["event"].get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        return f"not an integer: {value!r}", last
    if last is not None and value <= last:
        return f"not increasing: {value} after {last}", last
    return "increasing", value


def differences(target: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """Paths whose values differ (numbers compared by value: 1 == 1.0), in a stable order."""
    paths = sorted(set(target) | set(reference))
    missing = object()
    return [p for p in paths if not _same(target.get(p, missing), reference.get(p, missing))]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


@dataclass(frozen=True)
class Answer:
    """One server's answer: status, media type, parsed JSON (or the text when not JSON)."""

    status: int
    content_type: str
    body: Any

    @classmethod
    def of(cls, status: int, headers: Any, content: bytes) -> Answer:
        try:
            body: Any = json.loads(content) if content else None
        except (ValueError, RecursionError):
            body = content[:500].decode("utf-8", "backslashreplace")
        lower = {str(k).lower(): v for k, v in dict(headers).items()}
        value = lower.get("content-type", "")
        if isinstance(value, list):  # schemathesis' Response keeps every header as a list
            value = value[0] if value else ""
        return cls(status, str(value), body)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Step:
    """One request of the run as sent (path relative to the base URL) and the entities it touched."""

    seq: int
    method: str
    path: str
    content_type: str
    body: bytes
    entities: frozenset[tuple[str, str]]
    authenticated: bool = True
    case_id: str = ""

    def line(self) -> str:
        text = self.body.decode("utf-8", "backslashreplace")
        text = text if len(text) <= 160 else text[:160] + f"... ({len(text)} chars)"
        path = self.path if len(self.path) <= 120 else self.path[:120] + f"... ({len(self.path)} chars)"
        return f"#{self.seq} {self.method} {path} {text}"

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "method": self.method, "path": self.path, "content_type": self.content_type,
                "body": base64.b64encode(self.body).decode(), "entities": sorted(map(list, self.entities)),
                "authenticated": self.authenticated, "case_id": self.case_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(data["seq"], data["method"], data["path"], data["content_type"], base64.b64decode(data["body"]),
                   frozenset((k, v) for k, v in data["entities"]), data.get("authenticated", True),
                   data.get("case_id", ""))


def touched(method: str, url: str, body: bytes, answers: tuple[Answer | None, ...]) -> frozenset[tuple[str, str]]:
    """The entities a request names: its path entity, the profileId it sends, and the profiles the answers
    put it on (``("session", id)`` / ``("profile", id)``)."""
    operation, entity_id = entity_of(url)
    found: set[tuple[str, str]] = set()
    if entity_id is None:
        return oracle_v2.touched(url, body, tuple(a.body for a in answers if a))
    found.add(("session" if operation == SESSION else "profile", entity_id))
    if operation == SESSION:
        try:
            sent = json.loads(body) if body.strip() else {}
        except (ValueError, RecursionError):
            sent = None
        pids = [sent.get("profileId")] if isinstance(sent, dict) else []
        for answer in answers:
            session = answer.body.get("session") if answer and isinstance(answer.body, dict) else None
            pids.append(session.get("profileId") if isinstance(session, dict) else None)
        found.update(("profile", p) for p in pids if isinstance(p, str) and p)
    return frozenset(found)


def entity_closure(steps: list[Step], last: int) -> list[Step]:
    """``steps[last]`` and every earlier step that touched an entity it depends on, transitively (a session
    step pulls in its profile's history), oldest first."""
    wanted = set(steps[last].entities)
    chosen = [steps[last]]
    for step in reversed(steps[:last]):
        if step.entities & wanted:
            chosen.append(step)
            wanted |= step.entities
    return chosen[::-1]


@dataclass
class OracleRuntime:
    """Per run: the oracle's URL, what is compared, each side's last event id, the history of the run."""

    url: str | None
    exclude: tuple[str, ...] = ()
    effects: bool = False
    fresh: bool = False
    strict_order: bool = True
    journal: str | None = None
    timeout: float = 10.0
    _answers: dict[int, tuple[Any, Answer | None, Step]] = field(default_factory=dict)
    _history: deque[Step] = field(default_factory=lambda: deque(maxlen=_HISTORY))
    _comparable: set[tuple[str, str]] = field(default_factory=set)
    _last_ids: dict[str, int | None] = field(default_factory=lambda: {"target": None, "reference": None})
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _seq: int = 0

    @classmethod
    def from_env(cls) -> OracleRuntime:
        """The oracle runtime of an ``st run`` started by ``harness.check`` (its ``CheckSettings``)."""
        s = CheckSettings.from_env()
        return cls(url=s.oracle_url, exclude=s.oracle_exclude, effects=s.oracle_effects, fresh=s.fresh,
                   strict_order=s.strict_order, journal=s.journal)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer | None:
        """Send one request to the oracle; None when it did not answer."""
        assert self.url is not None
        try:
            got = self._session().request(method, self.url + path, data=body, headers=headers, timeout=self.timeout,
                                          allow_redirects=False)
        except requests.RequestException:
            return None
        return Answer.of(got.status_code, got.headers, got.content)

    def record(self, response: Any, case_id: str, authenticated: bool) -> None:
        """After the target answered: forward to the oracle (if any), remember both answers and the step."""
        request = response.request
        body = request.body or b""
        body = body.encode("utf-8") if isinstance(body, str) else body
        path = request.path_url
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        with self._lock:  # one request at a time keeps the oracle's order the target's
            reference = self.send(request.method, path, headers, body) if self.url else None
            target = Answer.of(response.status_code, response.headers, response.content)
            self._seq += 1
            step = Step(self._seq, request.method, path, headers.get("Content-Type", headers.get("content-type", "")),
                        body, touched(request.method, request.url, body, (target, reference)), authenticated, case_id)
            self._history.append(step)
            self._answers[id(response)] = (response, reference, step)
            while len(self._answers) > 256:
                self._answers.pop(next(iter(self._answers)))
            if self.journal:
                with open(self.journal, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(step.to_json()) + "\n")

    def mirrored(self, response: Any) -> tuple[Answer | None, Step] | None:
        with self._lock:
            hit = self._answers.get(id(response))
            return (hit[1], hit[2]) if hit is not None and hit[0] is response else None

    def compare(self, step: Step, target: Answer, reference: Answer) -> tuple[list[str], dict[str, Any],
                                                                              dict[str, Any]] | None:
        """Differing paths and both normalised answers, or None when the comparison does not apply."""
        operation, entity_id = entity_of("http://x" + step.path)
        key = oracle_v2.entity(step.path) or (("session" if operation == SESSION else "profile", entity_id)
                                              if entity_id is not None else None)
        if key is None:
            return None
        with self._lock:
            if not self.fresh and key not in self._comparable:
                if not all(oracle_v2.created(a.status, a.body) for a in (target, reference)):
                    return None  # older data on the target: not applicable
                self._comparable.add(key)
            exclude = self.exclude + (() if self.effects else EFFECT_FIELDS)
            if not self.fresh and operation == SESSION:  # its profile may hold older data on the target
                profile = ((reference.body.get("session") or {}).get("profileId")
                           if isinstance(reference.body, dict) and isinstance(reference.body.get("session"), dict)
                           else None)
                if profile and ("profile", profile) not in self._comparable:
                    exclude += ("profile", "firstSession")
            if not self.fresh and key[0] == "v2session":
                exclude += oracle_v2.unseen_profile(reference.body, self._comparable)
            sides = {"target": normalise(target.status, target.content_type, target.body, exclude),
                     "reference": normalise(reference.status, reference.content_type, reference.body, exclude)}
            for side, answer in (("target", target), ("reference", reference)):
                label, last = event_order(answer.status, answer.body, self._last_ids[side] if self.strict_order
                                          else None)
                if not oracle_v2.dry(step.path):  # D17/D28: a dry call's event id is handed out again
                    self._last_ids[side] = last if self.strict_order else None
                if label is not None and not excluded("event.id", self.exclude):
                    sides[side]["event.id"] = label
        return differences(sides["target"], sides["reference"]), sides["target"], sides["reference"]

    def mirror(self, step: Step, headers: dict[str, str], target: Answer) -> str | None:
        """Send ``step`` (with the ``headers`` it went to the target with) to the reference server, add it to the
        history and compare the answers: the report of a divergence, or None (equal, or not applicable). For
        callers that send requests themselves (the witness phase) instead of through ``record_exchange``."""
        sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
        with self._lock:
            reference = self.send(step.method, step.path, sent, step.body) if self.url else None
            self._history.append(step)
        if self.url is None:
            return None
        if reference is None:
            return f"[matches_reference] the reference server did not answer {step.line()}"
        compared = self.compare(step, target, reference)
        if compared is None or not compared[0]:
            return None
        paths, mine, theirs = compared
        return _report("the answer differs from the reference server's", step, paths, mine, theirs,
                       self.sequence(step))

    def sequence(self, step: Step) -> list[Step]:
        with self._lock:
            history = list(self._history)
        index = next((i for i in range(len(history) - 1, -1, -1) if history[i] is step), None)
        return entity_closure(history, index) if index is not None else [step]


def oracle_for(case: Any) -> OracleRuntime:
    """The oracle runtime of the case's schema, created from the environment on first use."""
    runtime = st_adapter.attached_once(case, _ORACLE_ATTRIBUTE, OracleRuntime.from_env)
    assert isinstance(runtime, OracleRuntime)
    return runtime


def record_exchange(ctx: Any, case: Any, response: Any) -> None:
    """``after_call`` hook: forward the request to the oracle and journal it (when configured)."""
    oracle = oracle_for(case)
    if oracle.url is None and oracle.journal is None:
        return
    creds, sent = runtime_for(case).credentials, response.request.headers
    authenticated = creds is None or (not creds.api_key or sent.get("Authorization") == f"ApiKey-v1 {creds.api_key}")
    oracle.record(response, str(getattr(case, "id", "")), authenticated)


def _mismatch(case: Any, response: Any, text: str) -> ViolationError:
    """The divergence report ``text`` as a recorded ``matches_reference`` violation, ready to raise."""
    summary, _, rest = text.removeprefix("[matches_reference] ").partition("\n")
    violation = Violation("matches_reference", "", summary, received=rest, method=response.request.method or "",
                          url=response.request.url or "", case_id=st_adapter.case_key(case))
    runtime_for(case).record(violation)
    return ViolationError(violation)


def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _report(summary: str, step: Step, paths: list[str], target: dict[str, Any], reference: dict[str, Any],
            sequence: list[Step]) -> str:
    width = max(len(p) for p in paths + ["field"])
    rows = [f"  {'field'.ljust(width)}  {'target':<40}  reference"]
    missing = "(absent)"
    rows += [f"  {p.ljust(width)}  {_show(target.get(p, missing)):<40}  {_show(reference.get(p, missing))}"
             for p in paths]
    lines = [f"[matches_reference] {summary} at {len(paths)} field(s): {', '.join(paths[:8])}",
             f"  request: {step.line()}", *rows,
             f"  target answer:    {_show(target, 1500)}", f"  reference answer: {_show(reference, 1500)}",
             f"  sequence ({len(sequence)} request(s) that touched these entities, oldest first):"]
    lines += [f"    {s.line()}" for s in sequence[-25:]]
    return "\n".join(lines)


def matches_reference(ctx: Any, response: Any, case: Any) -> bool | None:
    """The answer equals the reference server's answer to the same request after the same sequence
    (:func:`normalise`); after a refused PUT a read-back ``PUT {}`` of the entity must match too (D1). A
    schemathesis check (``contracts.hooks`` registers it); a divergence is raised as ``ViolationError``."""
    oracle = oracle_for(case)
    if oracle.url is None:
        return True
    hit = oracle.mirrored(response)
    if hit is None:
        return True
    reference, step = hit
    runtime = runtime_for(case)
    runtime.observe(response)  # the model learns the call before any read-back below
    target = Answer.of(response.status_code, response.headers, response.content)
    if reference is None:
        raise _mismatch(case, response, f"[matches_reference] the reference server did not answer {step.line()}")
    compared = oracle.compare(step, target, reference)
    if compared is None:
        return True
    paths, mine, theirs = compared
    if paths:
        raise _mismatch(case, response, _report("the answer differs from the reference server's", step, paths, mine, theirs,
                                        oracle.sequence(step)))
    operation, entity_id = entity_of(response.request.url)
    if target.accepted or step.method != "PUT" or entity_id is None or not valid_id(entity_id) or target.status >= 500:
        return None
    after = probe(runtime, response.request.url, operation or "", entity_id)  # the target, seen by the model
    if after is None:
        return None
    put = build_put(operation or PROFILE, entity_id, {}, creds=runtime.credentials)
    mirror = oracle.send("PUT", put.path, put.headers, put.body)
    with oracle._lock:
        oracle._seq += 1
        read_step = Step(oracle._seq, "PUT", put.path, "application/json", put.body,
                         touched("PUT", "http://x" + put.path, put.body, ()) | step.entities, True, step.case_id)
        oracle._history.append(read_step)
        if oracle.journal:
            with open(oracle.journal, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({**read_step.to_json(), "read_back": True}) + "\n")
    if mirror is None:
        return None
    mine_after = Answer(after.exchange.status, "application/json", after.exchange.response)
    compared = oracle.compare(read_step, mine_after, mirror)
    if compared and compared[0]:
        raise _mismatch(case, response, _report("after a refused call, a read-back PUT {} differs from the reference's",
                                        read_step, compared[0], compared[1], compared[2], oracle.sequence(read_step)))
    return None
