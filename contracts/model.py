"""The harness-side model of what a correct server holds, learnt only from responses (the API has no GET).

For every profile and session id the model has seen accepted, it keeps what the server reported last
(re-synchronised after each call, so one bug yields one failure, not a cascade). Before it absorbs an
accepted response it records a :class:`Observation`: the request as sent, the stored state before, and the
response. The rules of :mod:`contracts.domain` compare the two; they never mutate the model.

Worked example::

    >>> m = Model(fresh=True)
    >>> obs = m.observe(Exchange.of("PUT", "http://h/v1/customer_sessions/s1", b'{"state":"closed"}',
    ...     {}, 200, {"session": {"integrationId": "s1", "state": "closed", "total": 0, "profileId": "",
    ...     "firstSession": True, "cartItems": [], "attributes": {}, "coupon": "", "referral": ""},
    ...     "profile": None, "event": {"id": 1, "type": "talon_session_created", "effects": []}}))
    >>> obs.before_session is None, obs.existed, m.session("s1").state
    (None, False, 'closed')

Guarantees: an id the model has not seen is *unknown* (``existed is None``) unless the model was told
the server started empty (``fresh=True``); then it is known absent. Failed requests never change the model.
With ``max_entities`` set (a long-lived proxy), memory stays bounded: past that many ids the model forgets
the older half, and from then on it claims less, never more (unseen ids unknown, session counts unknown).
All methods are thread-safe (one lock).
"""

from __future__ import annotations

import copy
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from talon_harness.strategies.bodies import ALLOWED_TRANSITIONS
from talon_harness.strategies.ids import valid_id
from talon_harness.strategies.types import Invalid
from talon_harness.strategies.wire import PATH_PREFIXES, PROFILE, SESSION

__all__ = [
    "ALLOWED_TRANSITIONS",
    "PROFILE",
    "SESSION",
    "Exchange",
    "Model",
    "Observation",
    "ProfileView",
    "SeenIds",
    "SessionView",
    "entity_of",
    "merge_attributes",
    "valid_id",
]

_MISSING = object()


def entity_of(url: str) -> tuple[str | None, str | None]:
    """``(operation, id)`` for a request URL, routing on the raw path like the server (D15).

    ``id`` is None when the path names no entity (unknown path, extra segment, undecodable id).
    """
    path = urlsplit(url).path
    for op, prefix in PATH_PREFIXES.items():
        at = path.find(prefix)
        if at >= 0:
            raw = path[at + len(prefix):]
            if "/" in raw:
                return op, None
            try:
                return op, unquote(raw, errors="strict")
            except UnicodeDecodeError:
                return op, None
    return None, None


def merge_attributes(stored: dict[str, Any], sent: Any) -> dict[str, Any]:
    """D4: top-level key-by-key merge; a null value keeps the stored value."""
    merged = dict(stored)
    if isinstance(sent, dict):
        merged.update({k: v for k, v in sent.items() if v is not None})
    return merged


@dataclass(frozen=True)
class ProfileView:
    """What the model believes a profile holds."""

    attributes: dict[str, Any]
    closed_sessions: int
    total_sales: float
    sessions: int | None  # sessions created for it; None when uncertain (a session moved onto it)


@dataclass(frozen=True)
class SessionView:
    """What the model believes a session holds."""

    state: str
    total: Any
    profile_id: str
    first_session: bool
    cart_items: list[Any]
    coupon: str
    referral: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Exchange:
    """One request as sent and its response, decoded once."""

    method: str
    url: str
    operation: str | None
    entity_id: str | None
    raw_body: bytes
    content_type: str
    headers: dict[str, str]
    status: int
    body: Any  # parsed request JSON, or _MISSING when the body is not JSON
    response: Any  # parsed response JSON, or None

    @classmethod
    def of(cls, method: str, url: str, raw_body: bytes | str | None, headers: dict[str, str], status: int,
           response: Any) -> Exchange:
        if isinstance(raw_body, str):
            raw_body = raw_body.encode("utf-8")
        raw_body = raw_body or b""
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            body: Any = json.loads(raw_body) if raw_body.strip() else {}
        except (ValueError, RecursionError):
            body = _MISSING
        op, entity_id = entity_of(url)
        return cls(method.upper(), url, op, entity_id, raw_body, lower.get("content-type", ""), lower, status,
                   body, response)

    @property
    def json_body(self) -> bool:
        """The request body parsed as JSON."""
        return self.body is not _MISSING

    def sent(self, key: str) -> Any:
        """A top-level request member, or None when omitted, null or the body is not an object (D4)."""
        return self.body.get(key) if isinstance(self.body, dict) else None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def dry(self) -> bool:
        """The request asked for a dry run (``dry=true`` in any letter case, D17): answered as the write would
        be, nothing stored."""
        pairs = parse_qsl(urlsplit(self.url).query, keep_blank_values=True)
        return any(name == "dry" and value.lower() == "true" for name, value in pairs)


class SeenIds:
    """The event ids the model had seen at a snapshot: a constant-time view of its growing table (ids are
    only ever added, each with the order it was first seen in), so a snapshot costs nothing per id."""

    __slots__ = ("_count", "_order")

    def __init__(self, order: dict[int, int], count: int) -> None:
        self._order, self._count = order, count

    def __contains__(self, event_id: object) -> bool:
        at = self._order.get(event_id) if isinstance(event_id, int) else None
        return at is not None and at < self._count

    def __len__(self) -> int:
        return self._count


@dataclass(frozen=True)
class Observation:
    """An exchange plus the model's knowledge just before it."""

    exchange: Exchange
    existed: bool | None  # True seen, False known absent (fresh server), None unknown
    before_session: SessionView | None
    before_profile: ProfileView | None  # the profile the call touches (profile op, or the session's)
    before_profile_existed: bool | None
    before_old_profile: ProfileView | None  # session moved between profiles: the one it left
    last_event_id: int | None
    seen_event_ids: SeenIds
    strict_order: bool
    #: What the runner that built the observation adds: the ``strategies.invalid`` tag of a deliberately
    #: invalid body, and a read of the entity right after the call (``PUT {}``; None when the runner
    #: cannot or must not send one). Rules that need them are not applicable without them.
    invalid: Invalid | None = None
    read_back: Callable[[], Observation | None] | None = field(default=None, compare=False, repr=False)
    #: The run's own state of other models, by name (the model's ``extras``: e.g. "v2", the v2 rules'
    #: ``contracts.domain.v2_model.V2Model``), so no rule keeps run state in a module.
    extras: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def response_session(self) -> dict[str, Any] | None:
        r = self.exchange.response
        return r.get("session") if isinstance(r, dict) and isinstance(r.get("session"), dict) else None

    @property
    def response_profile(self) -> dict[str, Any] | None:
        r = self.exchange.response
        return r.get("profile") if isinstance(r, dict) and isinstance(r.get("profile"), dict) else None

    @property
    def event(self) -> dict[str, Any] | None:
        r = self.exchange.response
        return r.get("event") if isinstance(r, dict) and isinstance(r.get("event"), dict) else None

    @property
    def target_profile_id(self) -> str | None:
        """For a session call: the profile the session belongs to after the call, as requested."""
        x = self.exchange
        sent = x.sent("profileId")
        if isinstance(sent, str):
            return sent
        if self.before_session is not None:
            return self.before_session.profile_id
        return "" if self.existed is False else None


@dataclass
class Model:
    """Thread-safe store of learnt state. ``fresh``: the server started empty, so unseen ids are absent.

    ``strict_order`` is False when several workers send concurrently: order-dependent predictions are off.
    ``max_entities``: the most profile and session ids kept (None: all); ``forgotten`` counts the dropped ones.
    """

    fresh: bool = False
    strict_order: bool = True
    max_entities: int | None = None
    forgotten: int = 0
    _profiles: dict[str, ProfileView] = field(default_factory=dict)
    _sessions: dict[str, SessionView] = field(default_factory=dict)
    _last_event_id: int | None = None
    _event_ids: dict[int, int] = field(default_factory=dict)  # event id -> order first seen
    _lock: threading.RLock = field(default_factory=threading.RLock)
    #: What other models of this run keep (``Observation.extras``: the same dict, handed to every observation).
    extras: dict[str, Any] = field(default_factory=dict)

    def session(self, session_id: str) -> SessionView | None:
        with self._lock:
            return self._sessions.get(session_id)

    def profile(self, profile_id: str) -> ProfileView | None:
        with self._lock:
            return self._profiles.get(profile_id)

    def _existed(self, table: dict[str, Any], key: str) -> bool | None:
        if key in table:
            return True
        return False if self.fresh else None

    def observe(self, exchange: Exchange) -> Observation:
        """Record the model's view before ``exchange``, then learn from it if it was accepted and not dry (D17)."""
        with self._lock:
            obs = self._snapshot(exchange)
            if (exchange.accepted and not exchange.dry and exchange.entity_id is not None
                    and isinstance(exchange.response, dict)):  # a dry run (D17) writes nothing to learn
                self._learn(obs)
                self._bound()
            return obs

    def _bound(self) -> None:
        """Past ``max_entities`` ids, drop the older half (by first sighting): afterwards an unseen id is
        unknown, not absent, and no kept profile's session count is known (a forgotten session may return).
        Past ``max_entities`` event ids, drop the older half of those (a reused old id then goes unseen)."""
        if self.max_entities is None:
            return
        if len(self._profiles) + len(self._sessions) > self.max_entities:
            for table in (self._profiles, self._sessions):
                for key in list(table)[: len(table) // 2]:
                    del table[key]
                    self.forgotten += 1
            self._profiles = {k: replace(v, sessions=None) for k, v in self._profiles.items()}
            self.fresh = False
        if len(self._event_ids) > self.max_entities:
            newer = list(self._event_ids)[len(self._event_ids) // 2:]
            self._event_ids = {event_id: order for order, event_id in enumerate(newer)}  # snapshots keep theirs

    def _snapshot(self, x: Exchange) -> Observation:
        existed = before_session = before_profile = before_old = profile_existed = None
        if x.entity_id is not None and x.operation == PROFILE:
            existed = self._existed(self._profiles, x.entity_id)
            before_profile = self._profiles.get(x.entity_id)
            profile_existed = existed
        elif x.entity_id is not None and x.operation == SESSION:
            existed = self._existed(self._sessions, x.entity_id)
            before_session = self._sessions.get(x.entity_id)
            sent = x.sent("profileId")
            pid = sent if isinstance(sent, str) else (before_session.profile_id if before_session else None)
            if pid:
                before_profile = self._profiles.get(pid)
                profile_existed = self._existed(self._profiles, pid)
            if before_session and before_session.profile_id and pid is not None and pid != before_session.profile_id:
                before_old = self._profiles.get(before_session.profile_id)
        return Observation(x, existed, before_session, copy.deepcopy(before_profile), profile_existed,
                           before_old, self._last_event_id, SeenIds(self._event_ids, len(self._event_ids)),
                           self.strict_order, extras=self.extras)

    def _learn(self, obs: Observation) -> None:
        x = obs.exchange
        event = obs.event or {}
        if isinstance(event.get("id"), int) and not isinstance(event.get("id"), bool):
            self._event_ids.setdefault(event["id"], len(self._event_ids))
            self._last_event_id = max(event["id"], self._last_event_id or event["id"])
        profile = obs.response_profile
        if profile is not None and isinstance(profile.get("integrationId"), str):
            pid = profile["integrationId"]
            old = self._profiles.get(pid)
            sessions = old.sessions if old else (0 if self.fresh or event.get("type") == "talon_profile_created"
                                                 or (x.operation == SESSION and obs.before_profile_existed is False)
                                                 else None)
            self._profiles[pid] = ProfileView(
                attributes=dict(profile.get("attributes") or {}),
                closed_sessions=profile.get("closedSessions", 0),
                total_sales=profile.get("totalSales", 0),
                sessions=sessions,
            )
        session = obs.response_session
        if x.operation == SESSION and session is not None:
            sid = x.entity_id
            assert sid is not None
            pid = session.get("profileId") or ""
            if sid not in self._sessions and pid and pid in self._profiles and self._profiles[pid].sessions is not None:
                view = self._profiles[pid]
                self._profiles[pid] = replace(view, sessions=view.sessions + 1)  # type: ignore[operator]
            elif sid in self._sessions and pid and pid != self._sessions[sid].profile_id and pid in self._profiles:
                self._profiles[pid] = replace(self._profiles[pid], sessions=None)
            self._sessions[sid] = SessionView(
                state=session.get("state", "open"),
                total=session.get("total", 0),
                profile_id=pid,
                first_session=bool(session.get("firstSession")),
                cart_items=copy.deepcopy(session.get("cartItems") or []),
                coupon=session.get("coupon") or "",
                referral=session.get("referral") or "",
                attributes=dict(session.get("attributes") or {}),
            )


def finite_sum(a: Any, b: Any) -> float | None:
    """``a + b`` as floats, or None when it is not finite (D6 "Out of range")."""
    try:
        result = float(a) + float(b)
    except (OverflowError, TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None
