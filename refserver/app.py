"""The raw ASGI application: routing on the raw path, body limits, auth, content type, JSON, handlers.

Order of checks for every HTTP request (the first failure answers):
404 unknown path -> 405 method other than PUT (Allow: PUT) -> 400 invalid path id (D12) -> 413 body over
the limit (Content-Length first, then while reading) -> 401/400 auth (D2) -> 415 content type (D15) ->
400 `dry` query parameter (D17) -> 400 body not acceptable JSON -> handler (400 validation / state machine,
or 200 IntegrationState). A dry run (D17) runs the handler as usual, then drops the request's writes
(its event id is given back) and answers what the write would have answered.

Concurrency: after the body is read, read-validate-apply runs synchronously on the event-loop thread (no
await in between), so requests are serialised without locks: no lost updates, no "database is locked".
Each request's writes sit in its own savepoint; the requests handled in one loop iteration share one
COMMIT (`Store.grouped_transaction`), and every answer waits for that COMMIT (acknowledged means
committed). Every response body is JSON produced by `store.dumps`.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from time import perf_counter
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from .auth import authenticate
from .body import is_json_media_type, parse_body
from .config import ServerConfig
from .errors import (
    ApiError,
    InvalidId,
    MalformedBody,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from .events import utc_now
from .fault_layer import faulty_store, with_faults
from .profiles import upsert_profile
from .query import dry_run
from .sessions import upsert_session
from .store import Store, Transaction, dumps
from .v2_app import v2_app

__all__ = ["ROUTES", "Route", "create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Handler = Callable[[Transaction, ServerConfig, str, Any, str], dict[str, Any]]
LogFn = Callable[[str], None]

MAX_ID_LENGTH = 1000  # the oracle's own copy of D12 (strategies.ids.valid_id is the harness's): no shared code
_CONTROL_CHAR = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc (D12)
_JSON_HEADER = (b"content-type", b"application/json")


@dataclass(frozen=True)
class Route:
    """PUT /v1/<collection>/{<parameter>} handled by `handler`."""

    collection: str
    parameter: str
    handler: Handler


# the oracle's own copy of the paths (strategies.wire.PATH_PREFIXES is the harness's): no shared code
ROUTES: tuple[Route, ...] = (
    Route("customer_profiles", "integrationId", upsert_profile),
    Route("customer_sessions", "customerSessionId", upsert_session),
)
_BY_COLLECTION = {route.collection: route for route in ROUTES}


def _decode_id(segment: bytes, parameter: str) -> str:
    """Percent-decode a raw path segment and apply D12 (1..1000 code points, no Cc characters)."""
    try:
        value = (unquote_to_bytes(segment) if b"%" in segment else segment).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidId(parameter, "The id is not valid percent-encoded UTF-8.") from None
    if not value:
        raise InvalidId(parameter, "The id must not be empty.")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidId(parameter, f"The id must be at most {MAX_ID_LENGTH} characters, got {len(value)}.")
    control = _CONTROL_CHAR.search(value)
    if control is not None:
        code = ord(control.group())
        raise InvalidId(parameter, f"The id must not contain control characters (U+{code:04X}).")
    return value


def _match(raw_path: bytes, method: str) -> tuple[Route, str]:
    parts = raw_path.split(b"/")
    route = None
    if len(parts) == 4 and parts[0] == b"" and parts[1] == b"v1":
        route = _BY_COLLECTION.get(parts[2].decode("latin-1"))
    if route is None:
        raise NotFound(_printable(raw_path))
    if method != "PUT":
        raise MethodNotAllowed(method, _printable(raw_path))
    return route, _decode_id(parts[3], route.parameter)


def _raw_path(scope: Scope) -> bytes:
    """The path as sent, without the query string (httpx's ASGITransport includes it in raw_path)."""
    raw = scope.get("raw_path")
    if raw is None:
        return quote(scope["path"]).encode("ascii")
    return raw.split(b"?", 1)[0]


def _printable(raw_path: bytes) -> str:
    return raw_path.decode("latin-1")


async def _read_body(headers: dict[bytes, bytes], receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None if the client disconnected. Raises PayloadTooLarge past `limit`."""
    declared = headers.get(b"content-length", b"").strip()
    if declared.isdigit() and (len(declared) > 18 or int(declared) > limit):  # 18 digits: no huge int()
        raise PayloadTooLarge(limit, int(declared) if len(declared) <= 18 else None)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit, None)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _DryRun(Exception):  # not an error: how a dry run leaves its transaction without writing
    """Raised inside the transaction of a dry run (D17), carrying the answer the write would have given."""

    def __init__(self, payload: bytes) -> None:
        super().__init__("dry run")
        self.payload = payload


def create_app(store: Store, config: ServerConfig, *, log: LogFn | None = None) -> ASGIApp:
    """A new ASGI app serving the two v1 upserts from `store`; `log` gets one line per request.
    With `config.faults` set, the store and the app are wrapped by `refserver.fault_layer`."""
    store = faulty_store(store, config.faults)
    grouped = isinstance(store, Store)  # the fault layer's lazily committing store keeps its own commits
    serve_v2 = v2_app(store, config, grouped=grouped, read_body=_read_body, decode_id=_decode_id, log=log)

    def handle(route: Route, entity_id: str, headers: dict[bytes, bytes], body: bytes, query: bytes) -> bytes:
        authenticate(headers, body, config)
        if body:
            content_type = headers.get(b"content-type")
            decoded = None if content_type is None else content_type.decode("latin-1")
            if not is_json_media_type(decoded):
                raise UnsupportedMediaType(decoded)
        dry = dry_run(query, config.api)  # D17
        document = parse_body(body)
        try:
            with store.grouped_transaction() if grouped else store.transaction() as tx:
                state = route.handler(tx, config, entity_id, document, utc_now())
                payload = dumps(state)  # serialised before COMMIT: an answer we cannot send is never committed
                if dry:
                    raise _DryRun(payload)  # leaves the block by raising: nothing of it is written (D17)
                return payload
        except _DryRun as dry_answer:
            return dry_answer.payload

    async def respond(
        send: Send, status: int, payload: bytes, extra: tuple[tuple[str, str], ...] = ()
    ) -> None:
        headers = [_JSON_HEADER, (b"content-length", b"%d" % len(payload))]
        if extra:
            headers.extend((k.encode(), v.encode()) for k, v in extra)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = perf_counter()
        raw_path = _raw_path(scope)
        if raw_path.startswith(b"/v2/"):  # the v2 API: refserver.v2_app (D20-D36)
            await serve_v2(scope, receive, send, raw_path)
            return
        method = scope["method"]
        extra: tuple[tuple[str, str], ...] = ()
        try:
            route, entity_id = _match(raw_path, method)
            headers = dict(scope["headers"])
            body = await _read_body(headers, receive, config.max_body_bytes)
            if body is None:
                return
            status, payload = 200, handle(route, entity_id, headers, body, scope.get("query_string", b""))
            if grouped:
                await store.group_committed()  # answer only once this request's writes are committed
        except ApiError as error:
            status, payload, extra = error.status, dumps(error.body()), error.headers
        except RecursionError:
            nested = MalformedBody("Nested too deeply", "The document is nested too deeply to process.")
            status, payload = nested.status, dumps(nested.body())
        except Exception:  # noqa: BLE001 - a bug: answer 500 and say so in the log, never crash the server
            traceback.print_exc(file=sys.stderr)
            status, payload = 500, dumps({"message": "Internal server error", "errors": []})
        await respond(send, status, payload, extra)
        if log is not None:
            log(f"{method} {_printable(raw_path)} {status} {(perf_counter() - started) * 1000:.1f}ms")

    return with_faults(app, store, config)
