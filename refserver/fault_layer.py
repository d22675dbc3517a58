"""Request/response-level fault injection: an ASGI layer around the app, and a lazily committing store.

`with_faults(app, store, config)` returns `app` itself when no layer-level fault is active, so a server
without faults runs exactly the code it ran before. Otherwise the layer buffers the request body,
may answer first (crash 500s, valid-input 400s, 503s), may wait (latency, the lost-update window),
then buffers the app's response and rewrites status, headers or JSON as the active faults say.
`faulty_store(store, faults)` wraps the store only for ``ack_before_commit``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from .config import ServerConfig
from .errors import ApiError, ErrorItem, InvalidData, InvalidId
from .faults import FaultName
from .store import Store, Transaction, dumps

__all__ = ["LAYER_FAULTS", "faulty_store", "with_faults"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LAYER_FAULTS: frozenset[str] = frozenset({
    FaultName.SESSION_CREATED_DROPPED, FaultName.EVENT_ID_AS_STRING, FaultName.UNDECLARED_SESSION_FIELD, FaultName.TEXT_PLAIN_CONTENT_TYPE,
    FaultName.CREATED_STATUS_201, FaultName.ERROR_POINTER_RELATIVE, FaultName.UNICODE_NAMES_REJECTED, FaultName.IDS_WITH_SPACES_REJECTED,
    FaultName.LONG_IDS_REJECTED, FaultName.NULL_MEMBERS_REJECTED, FaultName.CRASH_ON_NUL, FaultName.CRASH_ON_ASTRAL, FaultName.CRASH_ON_1000_CHAR_ID,
    FaultName.CRASH_ON_EMPTY_CART, FaultName.CRASH_ON_1000_ITEMS, FaultName.EVENT_ID_REUSED, FaultName.CLOSE_EVENT_TYPE_UPDATED,
    FaultName.COUPON_DISCOUNT_MISSING, FaultName.PATH_ID_LOWERCASED, FaultName.OTHER_SESSION_OVERWRITTEN, FaultName.LOST_UPDATE_ON_CLOSE,
    FaultName.SLOW_SESSION_PUTS, FaultName.INTERMITTENT_503,
})
_PARAMETERS = {b"customer_profiles": "integrationId", b"customer_sessions": "customerSessionId"}
_ASTRAL_ESCAPE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}")
_ASTRAL_PERCENT = re.compile(rb"%[fF][0-4]")
_SESSION_KEY_CHARS = 64
_LATENCY_S = 0.050
_LOST_UPDATE_WINDOW_S = 0.005
_BATCH = 100


@dataclass(frozen=True)
class _Request:
    """What the faults look at: the route, the decoded id (None if undecodable), the body as sent."""

    method: str
    collection: bytes
    raw_id: bytes
    entity_id: str | None
    body: bytes
    document: Any  # the parsed body, or None when it is not JSON

    @property
    def session(self) -> bool:
        return self.collection == b"customer_sessions"

    @property
    def items(self) -> Any:
        return self.document.get("cartItems") if isinstance(self.document, dict) else None


def _parse(scope: Scope, body: bytes) -> _Request | None:
    raw = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
    parts = raw.split(b"/")
    if len(parts) != 4 or parts[1] != b"v1" or parts[2] not in _PARAMETERS:
        return None
    try:
        entity_id: str | None = unquote_to_bytes(parts[3]).decode("utf-8")
    except UnicodeDecodeError:
        entity_id = None
    try:
        document = json.loads(body) if body else {}
    except (ValueError, RecursionError):
        document = None
    return _Request(scope["method"], parts[2], parts[3], entity_id, body, document)


def _crash(faults: frozenset[str], req: _Request) -> bool:
    """True when an active crash fault fires on this request."""
    if FaultName.CRASH_ON_NUL in faults and (b"\\u0000" in req.body or b"%00" in req.raw_id):
        return True
    if FaultName.CRASH_ON_ASTRAL in faults and (
        _ASTRAL_ESCAPE.search(req.body) or any(0xF0 <= b <= 0xF4 for b in req.body)
        or _ASTRAL_PERCENT.search(req.raw_id)
    ):
        return True
    if FaultName.CRASH_ON_1000_CHAR_ID in faults and req.entity_id is not None and len(req.entity_id) == 1000:
        return True
    if req.session and isinstance(req.items, list):
        if FaultName.CRASH_ON_EMPTY_CART in faults and req.items == []:
            return True
        if FaultName.CRASH_ON_1000_ITEMS in faults and len(req.items) >= 1000:
            return True
    return False


def _rejection(faults: frozenset[str], req: _Request) -> ApiError | None:
    """A 400 for a valid request, when an active valid-rejected fault fires."""
    parameter = _PARAMETERS[req.collection]
    if req.entity_id is not None:
        if FaultName.IDS_WITH_SPACES_REJECTED in faults and " " in req.entity_id:
            return InvalidId(parameter, "The id must not contain spaces.")
        if FaultName.LONG_IDS_REJECTED in faults and 128 < len(req.entity_id) <= 1000:
            return InvalidId(parameter, "The id must be at most 128 characters.")
    doc = req.document
    if FaultName.NULL_MEMBERS_REJECTED in faults and isinstance(doc, dict):
        nulls = [key for key, value in doc.items() if value is None]
        if nulls:
            return InvalidData([ErrorItem("Invalid type", "Expected a value, got null.", pointer="/" + nulls[0])])
    if FaultName.UNICODE_NAMES_REJECTED in faults and req.session and isinstance(req.items, list):
        for index, item in enumerate(req.items):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and not name.isascii():
                return InvalidData([ErrorItem("Invalid value", "Names must be ASCII.",
                                              pointer=f"/cartItems/{index}/name")])
    return None


class _Rewriter:
    """Response rewrites for the contract/semantic layer faults; keeps the per-app counter for ids."""

    def __init__(self, faults: frozenset[str], config: ServerConfig) -> None:
        self.faults = faults
        self.config = config
        self.calls = 0

    def rewrite(self, req: _Request, status: int, headers: list[tuple[bytes, bytes]], payload: bytes,
                ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        f = self.faults
        try:
            doc = json.loads(payload)
        except (ValueError, RecursionError):
            return status, headers, payload
        if not isinstance(doc, dict):
            return status, headers, payload
        if status == 200:
            status = self._accepted(req, doc, status)
            if FaultName.TEXT_PLAIN_CONTENT_TYPE in f:
                headers = [(k, b"text/plain; charset=utf-8" if k == b"content-type" else v) for k, v in headers]
        elif status == 400 and FaultName.ERROR_POINTER_RELATIVE in f:
            for error in doc.get("errors", []):
                pointer = (error.get("source") or {}).get("pointer")
                if isinstance(pointer, str) and pointer.startswith("/"):
                    error["source"]["pointer"] = pointer[1:]
        body = dumps(doc)
        headers = [(k, str(len(body)).encode() if k == b"content-length" else v) for k, v in headers]
        return status, headers, body

    def _accepted(self, req: _Request, doc: dict[str, Any], status: int) -> int:
        f = self.faults
        session, profile, event = doc.get("session"), doc.get("profile"), doc.get("event") or {}
        self.calls += 1
        if isinstance(session, dict):
            if FaultName.SESSION_CREATED_DROPPED in f:
                session.pop("created", None)
            if FaultName.UNDECLARED_SESSION_FIELD in f:
                session["loyaltyPoints"] = 0
            if FaultName.COUPON_DISCOUNT_MISSING in f:
                rule = self.config.rules.coupons.get(session.get("coupon", ""))
                if rule is not None:
                    session.get("discounts", {}).pop(rule.label, None)
        if FaultName.EVENT_ID_AS_STRING in f and "id" in event:
            event["id"] = str(event["id"])
        if FaultName.EVENT_ID_REUSED in f and isinstance(event.get("id"), int):
            event["id"] = (self.calls + 1) // 2
        if FaultName.CLOSE_EVENT_TYPE_UPDATED in f and event.get("type") == "talon_session_closed":
            event["type"] = "talon_session_updated"
        if FaultName.PATH_ID_LOWERCASED in f:
            entity = session if isinstance(session, dict) else profile
            if isinstance(entity, dict) and isinstance(entity.get("integrationId"), str):
                entity["integrationId"] = entity["integrationId"].lower()
        if FaultName.CREATED_STATUS_201 in f and str(event.get("type", "")).endswith("_created"):
            return 201
        return status


async def _call(app: ASGIApp, scope: Scope, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the app on a replayed body; its whole response, buffered."""
    sent = False
    status, headers, chunks = 500, [], []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the client stays connected until the response is done
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)


async def _read(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _error(error: ApiError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    payload = dumps(error.body())
    return error.status, _json_headers(payload), payload


def _json_headers(payload: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra]


def _truncated_scope(scope: Scope, req: _Request) -> Scope:
    """``other_session_overwritten``: the app sees the session id cut to 64 characters."""
    if not req.session or req.entity_id is None or len(req.entity_id) <= _SESSION_KEY_CHARS:
        return scope
    from urllib.parse import quote

    short = quote(req.entity_id[:_SESSION_KEY_CHARS], safe="").encode()
    return {**scope, "raw_path": b"/v1/customer_sessions/" + short, "path": "/v1/customer_sessions/x"}


def _echo_full_id(req: _Request, payload: bytes) -> bytes:
    try:
        doc = json.loads(payload)
    except ValueError:
        return payload
    if isinstance(doc, dict) and isinstance(doc.get("session"), dict):
        doc["session"]["integrationId"] = req.entity_id
        if isinstance(doc.get("event"), dict):
            doc["event"]["sessionId"] = req.entity_id
        return dumps(doc)
    return payload


def with_faults(app: ASGIApp, store: Store | _LazyCommitStore, config: ServerConfig) -> ASGIApp:
    """`app` wrapped by the active layer faults of `config`, or `app` itself when there are none."""
    faults = config.faults & LAYER_FAULTS
    if not faults:
        return app
    rewriter = _Rewriter(faults, config)
    rng = random.Random(0)

    async def faulty(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body = await _read(receive)
        if body is None:
            return
        req = _parse(scope, body)
        if req is None or req.method != "PUT":
            status, headers, payload = await _call(app, scope, body)
        elif FaultName.INTERMITTENT_503 in faults and rng.random() < 0.01:
            payload = dumps({"message": "Service unavailable", "errors": []})
            status, headers = 503, _json_headers(payload, ((b"retry-after", b"1"),))
        elif _crash(faults, req):
            payload = dumps({"message": "Internal server error", "errors": []})
            status, headers = 500, _json_headers(payload)
        elif (rejection := _rejection(faults, req)) is not None:
            status, headers, payload = _error(rejection)
        else:
            if FaultName.SLOW_SESSION_PUTS in faults and req.session:
                await asyncio.sleep(_LATENCY_S)
            if FaultName.LOST_UPDATE_ON_CLOSE in faults and req.session:
                status, headers, payload = await _close_from_snapshot(app, scope, req, store)
            elif FaultName.OTHER_SESSION_OVERWRITTEN in faults:
                status, headers, payload = await _call(app, _truncated_scope(scope, req), body)
                if status == 200 and req.session:
                    payload = _echo_full_id(req, payload)
            else:
                status, headers, payload = await _call(app, scope, body)
            status, headers, payload = rewriter.rewrite(req, status, headers, payload)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return faulty


async def _close_from_snapshot(app: ASGIApp, scope: Scope, req: _Request, store: Store | _LazyCommitStore,
                               ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """``lost_update_on_close``: read the profile, yield to the loop, then book the close onto that
    (possibly stale) snapshot. Sequential calls get the right numbers; concurrent closes lose updates."""
    doc = req.document if isinstance(req.document, dict) else {}
    if doc.get("state") != "closed" or req.entity_id is None:
        return await _call(app, scope, req.body)
    with store.transaction() as tx:
        stored = tx.get_session(req.entity_id)
        profile_id = doc.get("profileId") or (stored or {}).get("profileId") or ""
        before = tx.get_profile(profile_id) if profile_id else None
    snapshot = (before.doc["closedSessions"], before.doc["totalSales"]) if before else (0, 0.0)
    await asyncio.sleep(_LOST_UPDATE_WINDOW_S)  # "look up the rules cache": other requests run now
    status, headers, payload = await _call(app, scope, req.body)
    if status != 200:
        return status, headers, payload
    answer = json.loads(payload)
    profile = answer.get("profile")
    if (answer.get("event") or {}).get("type") != "talon_session_closed" or not isinstance(profile, dict):
        return status, headers, payload
    profile["closedSessions"] = snapshot[0] + 1
    profile["totalSales"] = float(snapshot[1]) + float(answer["session"]["total"])
    with store.transaction() as tx:
        current = tx.get_profile(profile["integrationId"])
        if current is not None:
            current.doc.update(closedSessions=profile["closedSessions"], totalSales=profile["totalSales"])
            tx.put_profile(current)
    payload = dumps(answer)
    return status, _json_headers(payload), payload


class _LazyCommitStore:
    """``ack_before_commit``: each request runs in a savepoint of one long transaction that is committed
    only every 100 requests, so acknowledged writes vanish when the process dies (or is stopped)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._conn = store._conn
        self._pending = 0
        self.path = store.path

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._store._request() as tx:
            yield tx
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
        self._store.write_uncommitted(tx)
        self._pending += 1
        if self._pending >= _BATCH:
            self._conn.execute("COMMIT")
            self._pending = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def faulty_store(store: Store, faults: frozenset[str]) -> Store:
    """`store`, or its lazily committing wrapper when ``ack_before_commit`` is active."""
    if FaultName.ACK_BEFORE_COMMIT in faults:
        return _LazyCommitStore(store)  # type: ignore[return-value]
    return store
