"""The v2 routes of the ASGI app: PUT /v2/customer_sessions/{customerSessionId} and
PUT /v2/customer_profiles/{integrationId} (D20-D36).

Order of checks (as v1, D1): 404 unknown path -> 405 other method (Allow: PUT) -> 400 invalid path id (D12)
-> 413 body over the limit -> 401 API key (D34: ApiKey-v1 only) -> 415 content type (D15) -> 400 no body
(D21) -> 400 JSON -> 400 query parameter (source.parameter) -> handler (400 with pointer, or 200). No 409
(D24): requests are serialised. Error bodies are ErrorResponse {message, errors}; where the SDK's model for that status is
ErrorResponseWithStatus (every 401, the profile 400) they also carry "StatusCode" (D24).

Durability and atomicity are the v1 app's: the handler runs synchronously in one (grouped) transaction,
and the answer is sent only after the group's COMMIT.
"""

from __future__ import annotations

import asyncio
import hmac
import sys
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from typing import Any

from .body import is_json_media_type, parse_body
from .config import ServerConfig
from .errors import (
    ApiError,
    ErrorItem,
    InvalidData,
    MalformedBody,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
)
from .events import utc_now
from .faults import FaultName
from .store import Store, Transaction, dumps
from .v2_profiles import upsert_profile_v2
from .v2_query import Query, parse_query
from .v2_sessions import upsert_session_v2

__all__ = ["V2_ROUTES", "V2Route", "v2_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ReadBody = Callable[[dict[bytes, bytes], Receive, int], Awaitable[bytes | None]]
DecodeId = Callable[[bytes, str], str]
Handler = Callable[[Transaction, ServerConfig, str, Any, Query, str], dict[str, Any]]
Serve = Callable[[Scope, Receive, Send, bytes], Awaitable[None]]

_API_KEY_PREFIX = b"ApiKey-v1 "
_SLOW_S = 0.050  # the v2_slow_session_puts fault's added latency


@dataclass(frozen=True)
class V2Route:
    """PUT /v2/<collection>/{<parameter>}: `handler`, its query parameters, and whether its 400 body is
    ErrorResponseWithStatus."""

    collection: str
    parameter: str
    handler: Handler
    query: tuple[str, ...]
    status_in_400: bool


V2_ROUTES: tuple[V2Route, ...] = (
    V2Route("customer_profiles", "integrationId", upsert_profile_v2, ("runRuleEngine", "dry"), True),
    V2Route("customer_sessions", "customerSessionId", upsert_session_v2, ("dry", "now"), False),
)
_BY_COLLECTION = {route.collection: route for route in V2_ROUTES}


class _Discard(Exception):  # not an error: how a dry call leaves its transaction unwritten
    """Carries the answer of a dry call out of its transaction (D28)."""

    def __init__(self, payload: bytes) -> None:
        super().__init__("dry call")
        self.payload = payload


def _authenticate(headers: dict[bytes, bytes], config: ServerConfig) -> None:
    """D34: no keys configured -> open; otherwise `Authorization: ApiKey-v1 <api_key>` (no HMAC in v2)."""
    if config.api_key is None and config.hmac_key is None:
        return
    header = headers.get(b"authorization")
    key = config.api_key
    if key is not None and header is not None and header.startswith(_API_KEY_PREFIX) and hmac.compare_digest(
        header[len(_API_KEY_PREFIX):].strip(), key.encode()
    ):
        return
    if header is None:
        raise Unauthorized("Authorization", "Missing 'Authorization: ApiKey-v1 <key>' header.")
    raise Unauthorized("Authorization", "The API key is not valid.")


def _error_body(error: ApiError, route: V2Route | None) -> bytes:
    body = error.body()
    if error.status == 401 or (route is not None and route.status_in_400 and error.status == 400):
        body["StatusCode"] = error.status
    return dumps(body)


def _clock(query_now: datetime | None) -> str:
    """The request's timestamp: `now` when given (D29), else the server clock."""
    if query_now is None:
        return utc_now()
    return query_now.isoformat(timespec="microseconds").replace("+00:00", "Z")


def v2_app(
    store: Store, config: ServerConfig, *, grouped: bool, read_body: ReadBody, decode_id: DecodeId,
    log: Callable[[str], None] | None,
) -> Serve:
    """`serve(scope, receive, send, raw_path)` answering one HTTP request on a /v2/ path; `read_body` and
    `decode_id` are the v1 app's (body limit D13, ids D12)."""

    def handle(route: V2Route, entity_id: str, headers: dict[bytes, bytes], body: bytes, query: bytes) -> bytes:
        _authenticate(headers, config)
        if body:
            content_type = headers.get(b"content-type")
            decoded = None if content_type is None else content_type.decode("latin-1")
            if not is_json_media_type(decoded):
                raise UnsupportedMediaType(decoded)
        if not body:  # D21: the body is required in v2 (D15's empty body = {} is a v1 client's habit)
            raise InvalidData([ErrorItem("Required", "A v2 request needs a JSON body.", pointer="")])
        document = parse_body(body)
        parsed = parse_query(query, allowed=route.query)
        discard = parsed.dry and FaultName.V2_DRY_WRITES not in config.faults
        try:
            with store.grouped_transaction() if grouped else store.transaction() as tx:
                payload = dumps(route.handler(tx, config, entity_id, document, parsed, _clock(parsed.now)))
                if discard:
                    raise _Discard(payload)  # D28: leaving the block by raising drops its writes and event id
                return payload
        except _Discard as dry:
            return dry.payload

    async def respond(send: Send, status: int, payload: bytes, extra: tuple[tuple[str, str], ...]) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
        if extra:
            headers.extend((k.encode(), v.encode()) for k, v in extra)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def serve(scope: Scope, receive: Receive, send: Send, raw_path: bytes) -> None:
        started = perf_counter()
        method = scope["method"]
        route: V2Route | None = None
        extra: tuple[tuple[str, str], ...] = ()
        try:
            parts = raw_path.split(b"/")
            route = _BY_COLLECTION.get(parts[2].decode("latin-1")) if len(parts) == 4 else None
            if route is None:
                raise NotFound(raw_path.decode("latin-1"))
            if method != "PUT":
                raise MethodNotAllowed(method, raw_path.decode("latin-1"))
            entity_id = decode_id(parts[3], route.parameter)
            headers = dict(scope["headers"])
            body = await read_body(headers, receive, config.max_body_bytes)
            if body is None:
                return
            status, payload = 200, handle(route, entity_id, headers, body, scope.get("query_string", b""))
            if route.collection == "customer_profiles" and FaultName.V2_PROFILE_STATUS_201 in config.faults:
                status = 201
            if route.collection == "customer_sessions" and FaultName.V2_SLOW_SESSION_PUTS in config.faults:
                await asyncio.sleep(_SLOW_S)
            if grouped:
                await store.group_committed()
        except ApiError as error:
            status, payload, extra = error.status, _error_body(error, route), error.headers
        except RecursionError:
            nested = MalformedBody("Nested too deeply", "The document is nested too deeply to process.")
            status, payload = nested.status, _error_body(nested, route)
        except Exception:  # noqa: BLE001 - a bug: answer 500 and say so in the log, never crash the server
            traceback.print_exc(file=sys.stderr)
            status, payload = 500, dumps({"message": "Internal server error", "errors": []})
        await respond(send, status, payload, extra)
        if log is not None:
            log(f"{method} {raw_path.decode('latin-1')} {status} {(perf_counter() - started) * 1000:.1f}ms")

    return serve
