"""Per-run state the schemathesis adapter shares: the model, the credentials, the case mix, the invalid-body
tags, the violation records file.

One :class:`CheckRuntime` per run: ``st run`` builds it from the environment when it loads the schema
(``contracts.hooks.after_load_schema``), pytest entry points build their own and :func:`attach_runtime`
it; either way it rides on the schema object every case points to (``contracts._schemathesis``), never in
a module global. :meth:`CheckRuntime.observation` is what the rules of ``contracts.domain`` judge for a case.
``st run`` reads its settings from the environment, set by ``harness.check.run_check``:
one :class:`contracts.settings.CheckSettings`, credentials included, so secrets never appear in argv.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from talon_harness.contracts import _schemathesis as st_adapter
from talon_harness.contracts.casemix import CaseMix
from talon_harness.contracts.casemix_v2 import CaseMixV2
from talon_harness.contracts.model import Exchange, Model, Observation
from talon_harness.contracts.settings import CheckSettings
from talon_harness.contracts.violation import Violation
from talon_harness.strategies.types import Invalid
from talon_harness.strategies.wire import PATH_PREFIXES, Credentials, build_put

__all__ = ["CheckRuntime", "attach_runtime", "probe", "runtime_for"]

_MEMO_SIZE = 256


@dataclass
class CheckRuntime:
    """The model plus everything a check needs to interpret one response exactly once.

    ``mix`` is None for runs that send only the cases they build themselves (pytest drivers); a v1 run's is a
    ``contracts.casemix.CaseMix``, a v2 run's a ``contracts.casemix_v2.CaseMixV2``.
    """

    model: Model
    credentials: Credentials | None = None
    probe_timeout: float = 5.0
    mix: CaseMix | CaseMixV2 | None = None
    violations: str | None = None  # the file violation records go to (``contracts.settings.VIOLATIONS_FILE``)
    _memo: OrderedDict[int, tuple[Any, Observation]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tags: OrderedDict[str, Invalid] = field(default_factory=OrderedDict)
    _http: threading.local = field(default_factory=threading.local)  # one keep-alive session per thread

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, mixed: bool = True) -> CheckRuntime:
        """The runtime of an ``st run`` started by ``harness.check`` (see the module docstring); with
        ``mixed`` it carries the case mix of the run's API, a :class:`CaseMixV2` for v2, else a :class:`CaseMix`
        (build it outside a running Hypothesis test)."""
        settings = CheckSettings.from_env(environ)
        model = Model(fresh=settings.fresh, strict_order=settings.strict_order)
        mix = (CaseMixV2 if settings.api == "v2" else CaseMix)(seed=settings.seed) if mixed else None
        return cls(model=model, credentials=settings.credentials, mix=mix, violations=settings.violations)

    def observe(self, response: Any) -> Observation:
        """The observation for a schemathesis ``Response`` (the model learns from it once)."""
        with self._lock:
            hit = self._memo.get(id(response))
            if hit is not None and hit[0] is response:
                return hit[1]
            obs = self.model.observe(exchange_of(response))
            self._memo[id(response)] = (response, obs)  # holding the response keeps its id unique
            while len(self._memo) > _MEMO_SIZE:
                self._memo.popitem(last=False)
            return obs

    def observation(self, case: Any, response: Any) -> Observation:
        """What the rules judge for ``case``'s ``response``: :meth:`observe`, with the case's invalid-body tag
        and a read-back (``PUT {}``, :func:`probe`) of the entity it names."""
        obs = self.observe(response)
        x = obs.exchange
        read_back = (functools.partial(probe, self, x.url, x.operation, x.entity_id)
                     if x.operation is not None and x.entity_id is not None else None)
        return replace(obs, invalid=self.tag_of(case), read_back=read_back)

    def start_records(self) -> None:
        """Empty the violation records file (a run starts)."""
        if self.violations is not None:
            with self._lock, open(self.violations, "w", encoding="utf-8"):
                pass

    def record(self, violation: Violation) -> None:
        """Append ``violation`` to the records file as one JSON line (nothing without a file)."""
        if self.violations is not None:
            line = json.dumps(violation.to_json(), ensure_ascii=False) + "\n"
            with self._lock, open(self.violations, "a", encoding="utf-8") as fh:
                fh.write(line)

    def http(self) -> Any:
        """This thread's ``requests.Session`` for probes: kept alive, so a probe costs one request, not a
        new connection and a new session each."""
        session = getattr(self._http, "session", None)
        if session is None:
            import requests

            session = self._http.session = requests.Session()
        return session

    def tag(self, case: Any, invalid: Invalid) -> None:
        """Remember that ``case`` is sent with ``invalid.body``, which breaks ``invalid.breaks`` at
        ``invalid.pointer`` (looked up again by the case, not by its body)."""
        key = st_adapter.case_key(case)
        with self._lock:
            self._tags[key] = invalid
            self._tags.move_to_end(key)
            while len(self._tags) > _MEMO_SIZE:
                self._tags.popitem(last=False)

    def tag_of(self, case: Any) -> Invalid | None:
        """The ``strategies.types.Invalid`` this case was tagged with, or None."""
        with self._lock:
            return self._tags.get(st_adapter.case_key(case))


def exchange_of(response: Any) -> Exchange:
    """An :class:`Exchange` from a schemathesis ``Response`` (its ``request`` is what went on the wire)."""
    request = response.request
    try:
        parsed = response.json() if response.content else None
    except (ValueError, RecursionError):  # not JSON: the response-format checks report that
        parsed = None
    return Exchange.of(request.method or "", request.url or "", request.body, dict(request.headers),
                       response.status_code, parsed)


def attach_runtime(schema: Any, runtime: CheckRuntime) -> CheckRuntime:
    """Use ``runtime`` for every case of ``schema`` (the run object)."""
    st_adapter.attach(schema, runtime)
    return runtime


def runtime_for(case: Any) -> CheckRuntime:
    """The runtime of the case's schema. A schema loaded before the hooks were gets one from the
    environment on first use, without a case mix (its cases are sent as generated)."""
    runtime = st_adapter.attached(case)
    if runtime is None:
        runtime = st_adapter.attach_once(case.operation.schema, CheckRuntime.from_env(mixed=False))
    assert isinstance(runtime, CheckRuntime)
    return runtime


def probe(runtime: CheckRuntime, url: str, operation: str, entity_id: str) -> Observation | None:
    """Send ``PUT {}`` (a read without GET: changes nothing but the event log) and observe it.

    Returns None when the probe could not be sent or answered.
    """
    import requests

    put = build_put(operation, entity_id, {}, creds=runtime.credentials)
    at = url.find(PATH_PREFIXES[operation]) if operation in PATH_PREFIXES else -1
    if at < 0:
        return None
    try:
        answer = runtime.http().put(url[:at] + put.path, data=put.body, headers=put.headers,
                                    timeout=runtime.probe_timeout, allow_redirects=False)
    except requests.RequestException:
        return None
    try:
        parsed = answer.json()
    except ValueError:
        parsed = None
    exchange = Exchange.of("PUT", answer.request.url or "", put.body, put.headers, answer.status_code, parsed)
    return runtime.model.observe(exchange)
