"""Per-run state the domain checks share: the model, the credentials, and the observation of each response.

Schemathesis calls checks as plain functions, so the state is looked up from the case's schema object
(one :class:`CheckRuntime` per loaded schema, i.e. per ``st run`` or per pytest schema), never from a
module-level mutable. ``st run`` reads its settings from the environment (set by
``harness.check.run_check``), so secrets never appear in argv:

- ``TALON_CHECK_API_KEY`` / ``TALON_CHECK_HMAC`` (``APP_ID:KEY``): credentials to send and to probe with;
- ``TALON_CHECK_FRESH=1``: the server started empty, so ids the model has not seen are known absent;
- ``TALON_CHECK_WORKERS``: more than 1 turns off order-dependent predictions.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from talon_harness.contracts.model import Exchange, Model, Observation
from talon_harness.strategies.wire import Credentials, build_put

__all__ = ["CheckRuntime", "attach_runtime", "credentials_from_env", "probe", "runtime_for"]

# keyed by id(schema); the schema itself is held so that its id cannot be reused (schemas are unhashable)
_RUNTIMES: dict[int, tuple[Any, CheckRuntime]] = {}
_RUNTIMES_LOCK = threading.Lock()
_MEMO_SIZE = 256


def credentials_from_env(environ: dict[str, str] | None = None) -> Credentials | None:
    """Credentials from ``TALON_CHECK_API_KEY`` / ``TALON_CHECK_HMAC`` (``APP_ID:KEY``), or None."""
    env = os.environ if environ is None else environ
    api_key = env.get("TALON_CHECK_API_KEY") or None
    app_id, _, key = (env.get("TALON_CHECK_HMAC") or "").partition(":")
    if key:
        return Credentials(api_key=api_key, hmac_application_id=int(app_id), hmac_key=key)
    return Credentials(api_key=api_key) if api_key else None


@dataclass
class CheckRuntime:
    """The model plus everything a check needs to interpret one response exactly once."""

    model: Model
    credentials: Credentials | None = None
    probe_timeout: float = 5.0
    _memo: OrderedDict[int, tuple[Any, Observation]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tags: OrderedDict[str, Any] = field(default_factory=OrderedDict)

    @classmethod
    def from_env(cls) -> CheckRuntime:
        workers = int(os.environ.get("TALON_CHECK_WORKERS", "1") or 1)
        model = Model(fresh=os.environ.get("TALON_CHECK_FRESH") == "1", strict_order=workers <= 1)
        return cls(model=model, credentials=credentials_from_env())

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


    def tag(self, body: Any, invalid: Any) -> None:
        """Remember that ``body`` (a JSON value about to be sent) breaks ``invalid.breaks`` at ``invalid.pointer``."""
        key = _body_key(body)
        if key is None:
            return
        with self._lock:
            self._tags[key] = invalid
            self._tags.move_to_end(key)
            while len(self._tags) > _MEMO_SIZE:
                self._tags.popitem(last=False)

    def tag_of(self, body: Any) -> Any:
        """The ``strategies.types.Invalid`` tagged for this (parsed) request body, or None."""
        if not self._tags:
            return None
        key = _body_key(body)
        with self._lock:
            return self._tags.get(key) if key is not None else None


def _body_key(body: Any) -> str | None:
    try:
        return json.dumps(body, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None


def exchange_of(response: Any) -> Exchange:
    """An :class:`Exchange` from a schemathesis ``Response`` (its ``request`` is what went on the wire)."""
    request = response.request
    try:
        parsed = response.json() if response.content else None
    except Exception:  # not JSON: the response-format checks report that
        parsed = None
    return Exchange.of(request.method or "", request.url or "", request.body, dict(request.headers),
                       response.status_code, parsed)


def attach_runtime(schema: Any, runtime: CheckRuntime) -> CheckRuntime:
    """Use ``runtime`` for every case of ``schema`` (pytest entry points call this)."""
    with _RUNTIMES_LOCK:
        _RUNTIMES[id(schema)] = (schema, runtime)
    return runtime


def runtime_for(case: Any) -> CheckRuntime:
    """The runtime of the case's schema, created from the environment on first use."""
    schema = case.operation.schema
    with _RUNTIMES_LOCK:
        hit = _RUNTIMES.get(id(schema))
        if hit is None or hit[0] is not schema:
            hit = _RUNTIMES[id(schema)] = (schema, CheckRuntime.from_env())
        return hit[1]


def probe(runtime: CheckRuntime, url: str, operation: str, entity_id: str) -> Observation | None:
    """Send ``PUT {}`` (a read without GET: changes nothing but the event log) and observe it.

    Returns None when the probe could not be sent or answered.
    """
    import requests

    put = build_put(operation, entity_id, {}, creds=runtime.credentials)
    at = url.find("/v1/customer_")
    if at < 0:
        return None
    try:
        answer = requests.put(url[:at] + put.path, data=put.body, headers=put.headers, timeout=runtime.probe_timeout)
    except requests.RequestException:
        return None
    try:
        parsed = answer.json()
    except ValueError:
        parsed = None
    exchange = Exchange.of("PUT", answer.request.url or "", put.body, put.headers, answer.status_code, parsed)
    return runtime.model.observe(exchange)
