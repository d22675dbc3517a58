"""What the v2 rules know before a v2 call: the session as the server last answered it, learnt from answers.

The v1 ``contracts.model.Model`` routes only v1 paths; a v2 exchange reaches the rules as an ``Observation``
whose ``exchange`` has no operation. :func:`v2_call` reads it once (the URL, the request, the answer) and
adds the v2 model's knowledge before it: the ``customerSession`` the server answered last for that id (only
calls that asked for ``responseContent: ["customerSession"]`` teach it; an accepted call that did not makes
the session unknown again), the effects of that answer, whether a dry call (D28) has touched the id since,
and whether the model saw a session of the profile a call names. The witness phase asks for the session on
every call, so there the model knows every session it created; in schemathesis' phases it mostly knows
nothing and the rules that need it are not applicable.

The model is the run's: it lives in the run's ``contracts.model.Model.extras`` (handed to every
observation as ``Observation.extras``), never in this module; an observation without one (built by hand)
gets a model that knows nothing. Guarantees: one v2 call is read and learnt from exactly once however many
rules judge it (cached by the exchange object); entities are keyed by server (scheme and host) and id; memory is bounded (past ``_MAX`` ids the older half is forgotten, i.e. unknown).
With several workers (``obs.strict_order`` False) the order of calls is not the order of answers, so the
model reports nothing known. Thread-safe (one lock).
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from talon_harness.contracts.model import Exchange, Observation
from talon_harness.strategies.wire import PROFILE_V2, SESSION_V2, V2_PATH_PREFIXES

__all__ = ["V2Call", "V2Model", "json_equal", "v2_call"]

_MAX = 20_000
_RECENT = 64


@dataclass(frozen=True)
class V2Call:
    """One v2 call and the model's knowledge just before it.

    ``sent``: the request's ``customerSession`` (non-null members), or the profile body; ``content``: the
    ``responseContent`` values asked for; ``answer``: the 200 body (None otherwise); ``before``: the stored
    session as last answered (None: unknown, or known absent when ``created``); ``created``: the answer's
    event says the call created the session (None: no event answered); ``before_effects``: the effects of the
    answer ``before`` came from; ``after_dry``: a dry call reached this id since ``before`` was learnt
    (``before`` None: since the model knew it absent); ``profile_had_session``: the model saw a session of
    the profile this call names (False: it did not, which says nothing about the server)."""

    operation: str | None
    entity_id: str | None
    sent: dict[str, Any]
    content: tuple[str, ...]
    dry: bool
    status: int
    answer: dict[str, Any] | None
    before: dict[str, Any] | None
    before_effects: tuple[dict[str, Any], ...]
    created: bool | None
    after_dry: bool
    profile_had_session: bool

    @property
    def session(self) -> dict[str, Any] | None:
        """The answered ``customerSession`` (None when not asked for or not an object)."""
        found = (self.answer or {}).get("customerSession")
        return found if isinstance(found, dict) else None

    @property
    def effects(self) -> list[Any] | None:
        found = (self.answer or {}).get("effects")
        return found if isinstance(found, list) else None

    @property
    def profile_id(self) -> str | None:
        """The session's profile after the call: answered, else sent, else stored (None: unknown)."""
        for source in (self.session, self.sent, self.before):
            value = (source or {}).get("profileId")
            if isinstance(value, str):
                return value
        return None


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (Python's ``==`` says it is), ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@dataclass
class _Known:
    session: dict[str, Any] | None  # None: known absent
    effects: tuple[dict[str, Any], ...]
    after_dry: bool = False


class V2Model:
    """The v2 sessions and profiles one run has seen, learnt from the answers (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions: OrderedDict[tuple[str, str], _Known] = OrderedDict()
        self.profiles: OrderedDict[tuple[str, str], bool] = OrderedDict()
        self.recent: OrderedDict[int, tuple[Exchange, V2Call]] = OrderedDict()

    def call(self, obs: Observation) -> V2Call:
        x = obs.exchange
        with self.lock:
            cached = self.recent.get(id(x))
            if cached is not None and cached[0] is x:
                return cached[1]
            call = self._read(obs)
            if call.operation == SESSION_V2 and call.entity_id is not None:
                self._learn(_server(x.url), call)
            self.recent[id(x)] = (x, call)  # the exchange is kept, so its id is not reused while cached
            while len(self.recent) > _RECENT:
                self.recent.popitem(last=False)
            return call

    def _read(self, obs: Observation) -> V2Call:
        x = obs.exchange
        operation, entity_id = _route(x.url)
        body = x.body if isinstance(x.body, dict) else {}
        if operation == SESSION_V2:
            raw = body.get("customerSession")
            sent = {k: v for k, v in raw.items() if v is not None} if isinstance(raw, dict) else {}
        else:
            sent = {k: v for k, v in body.items() if v is not None}
        content = body.get("responseContent")
        answer = x.response if x.status == 200 and isinstance(x.response, dict) else None
        event = (answer or {}).get("event")
        created = event.get("type") == "talon_session_created" if isinstance(event, dict) else None
        known = None
        server = _server(x.url)
        if obs.strict_order and operation == SESSION_V2 and entity_id is not None:
            known = self.sessions.get((server, entity_id))
        profile = sent.get("profileId")
        if not isinstance(profile, str) and known is not None and known.session is not None:
            profile = known.session.get("profileId")
        had = bool(obs.strict_order and isinstance(profile, str) and profile
                   and self.profiles.get((server, profile)))
        return V2Call(operation, entity_id, sent,
                      tuple(c for c in content if isinstance(c, str)) if isinstance(content, list) else (),
                      x.dry, x.status, answer, copy.deepcopy(known.session) if known else None,
                      known.effects if known else (), created, bool(known and known.after_dry), had)

    def _learn(self, server: str, call: V2Call) -> None:
        assert call.entity_id is not None
        key = (server, call.entity_id)
        if call.answer is None:
            return  # refused: nothing written (D24)
        known = self.sessions.get(key)
        if call.dry:
            if known is not None:
                known.after_dry = True
            elif call.created:  # a dry creation: the id is still absent (D28)
                self._put(key, _Known(None, (), after_dry=True))
            return
        session = call.session
        if session is None:
            self.sessions.pop(key, None)
        else:
            effects = call.effects or []
            self._put(key, _Known(copy.deepcopy(session), tuple(e for e in effects if isinstance(e, dict))))
        profile = call.profile_id
        if profile:
            self.profiles[(server, profile)] = True
            self.profiles.move_to_end((server, profile))
            while len(self.profiles) > _MAX:
                for _ in range(_MAX // 2):
                    self.profiles.popitem(last=False)

    def _put(self, key: tuple[str, str], known: _Known) -> None:
        self.sessions[key] = known
        self.sessions.move_to_end(key)
        if len(self.sessions) > _MAX:
            for _ in range(_MAX // 2):
                self.sessions.popitem(last=False)


def _server(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _route(url: str) -> tuple[str | None, str | None]:
    path = urlsplit(url).path
    for operation in (SESSION_V2, PROFILE_V2):
        prefix = V2_PATH_PREFIXES[operation]
        at = path.find(prefix)
        if at >= 0:
            raw = path[at + len(prefix):]
            if "/" in raw:
                return operation, None
            try:
                return operation, unquote(raw, errors="strict")
            except UnicodeDecodeError:
                return operation, None
    return None, None


def v2_call(obs: Observation) -> V2Call:
    """The v2 call of ``obs`` with the run's v2 model's knowledge before it (read and learnt once per
    exchange); the run's model is created in ``obs.extras`` on first use."""
    if obs.extras is None:
        return V2Model().call(obs)
    model = obs.extras.get("v2") or obs.extras.setdefault("v2", V2Model())  # setdefault: atomic
    return model.call(obs)

