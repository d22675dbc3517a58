"""The one request builder for Talon.One upserts (v1 and v2): path, query, body bytes and auth headers.

Every component (contract checks, Locust users, selftest, tests) builds its PUTs here, so a
request that one of them sends can be reproduced byte for byte by another. The v2 operations
(``SESSION_V2``, ``PROFILE_V2``) go to ``/v2/...`` and carry only ``Authorization: ApiKey-v1`` (v2 has no
HMAC scheme, D34); their query parameters (``dry``, ``now``, ``runRuleEngine``) are written as the official
SDK writes them (booleans lowercase).

Worked example::

    >>> put = build_put(SESSION, "s/1", {"state": "closed"})
    >>> put.path, put.body
    ('/v1/customer_sessions/s%2F1', b'{"state":"closed"}')
    >>> build_put(SESSION_V2, "s/1", {"customerSession": {}}, query={"dry": True}).path
    '/v2/customer_sessions/s%2F1?dry=true'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from urllib.parse import quote

import orjson

__all__ = [
    "API_NAMES",
    "API_QUERY_PARAMETERS",
    "DEFAULT_API",
    "DOMAIN_ERROR_TITLES",
    "OPERATIONS",
    "PATH_PREFIXES",
    "PROFILE",
    "PROFILE_V2",
    "SESSION",
    "SESSION_V2",
    "V2_OPERATIONS",
    "V2_PATH_PREFIXES",
    "Credentials",
    "PreparedPut",
    "QueryValue",
    "api_operations",
    "auth_headers",
    "build_put",
    "encode_body",
    "operation_of_path",
    "path_for",
    "query_string",
    "redact",
]

#: The operationIds of the two v1 upserts (the contract's names; the one home of these strings).
PROFILE = "updateCustomerProfile"
SESSION = "updateCustomerSession"
OPERATIONS: tuple[str, ...] = (PROFILE, SESSION)

#: The operationIds of the two v2 upserts (integration-v2.yaml's names).
PROFILE_V2 = "updateCustomerProfileV2"
SESSION_V2 = "updateCustomerSessionV2"
V2_OPERATIONS: tuple[str, ...] = (PROFILE_V2, SESSION_V2)

#: The one list of APIs the harness speaks (every command's ``--api`` is a choice of these): the seed's v1
#: (2018-02), the final v1 revision (D16) and v2 (D20-D36). ``refserver.config.API_REVISIONS`` keeps the
#: server's own list of v1 revisions (refserver imports nothing of ours); a test asserts the two agree.
API_NAMES: tuple[str, ...] = ("v1", "v1-2021", "v2")
#: What every command speaks unless told otherwise: the seed's revision.
DEFAULT_API = "v1"
#: The query parameters each API's upserts take (what ``build_put(query=...)`` may send: D17, D28-D30);
#: ``tests/contract/test_apis.py`` asserts they are exactly those each contract declares.
API_QUERY_PARAMETERS: Mapping[str, frozenset[str]] = MappingProxyType({
    "v1": frozenset(), "v1-2021": frozenset({"dry"}), "v2": frozenset({"dry", "now", "runRuleEngine"})})


def api_operations(api: str) -> tuple[str, ...]:
    """The operationIds of ``api`` (profile, then session); KeyError naming the known APIs if unknown."""
    if api not in API_NAMES:
        raise KeyError(f"unknown API {api!r}; known: {', '.join(API_NAMES)}")
    return V2_OPERATIONS if api == "v2" else OPERATIONS


#: v1 operationId -> raw path prefix; the entity id (percent-encoded) follows it.
PATH_PREFIXES: Mapping[str, str] = MappingProxyType(
    {PROFILE: "/v1/customer_profiles/", SESSION: "/v1/customer_sessions/"}
)
#: v2 operationId -> raw path prefix (kept apart from PATH_PREFIXES, whose users speak v1 only).
V2_PATH_PREFIXES: Mapping[str, str] = MappingProxyType(
    {PROFILE_V2: "/v2/customer_profiles/", SESSION_V2: "/v2/customer_sessions/"}
)
_ALL_PREFIXES: Mapping[str, str] = MappingProxyType({**PATH_PREFIXES, **V2_PATH_PREFIXES})
#: The APIError titles of domain-rule refusals (D5 illegal transition / change to a final session, D6
#: totalSales overflow): a schema-valid body may still get a 400 with one of these.
DOMAIN_ERROR_TITLES: frozenset[str] = frozenset({"Illegal state transition", "Session closed", "Out of range"})
_REDACTED = "[REDACTED]"


def _shown(secret: str | None) -> str | None:
    return None if secret is None else _REDACTED


@dataclass(frozen=True)
class Credentials:
    """Client-side auth settings (D2). Either, both or neither scheme may be set.

    ``hmac_key`` is the 16-hex-digit application key; ``hmac_application_id`` is sent as ``signer``.
    The repr never shows a key.
    """

    api_key: str | None = None
    hmac_application_id: int | None = None
    hmac_key: str | None = None

    def __post_init__(self) -> None:
        if (self.hmac_key is None) != (self.hmac_application_id is None):
            raise ValueError(
                "hmac_key and hmac_application_id must be given together "
                f"(hmac_application_id={self.hmac_application_id!r}, hmac_key given: {self.hmac_key is not None})"
            )

    def __repr__(self) -> str:
        return (
            f"Credentials(api_key={_shown(self.api_key)!r}, "
            f"hmac_application_id={self.hmac_application_id!r}, hmac_key={_shown(self.hmac_key)!r})"
        )

    def secrets(self) -> tuple[str, ...]:
        """The non-empty secret strings (API key, HMAC key in every letter case)."""
        found: list[str] = []
        if self.api_key:
            found.append(self.api_key)
        if self.hmac_key:
            found.extend({self.hmac_key, self.hmac_key.lower(), self.hmac_key.upper()})
        return tuple(found)


@dataclass(frozen=True)
class PreparedPut:
    """A ready-to-send PUT: the raw request target (path, and ``?query`` if any; already percent-encoded),
    headers and body bytes."""

    path: str
    headers: dict[str, str]
    body: bytes


def path_for(operation: str, entity_id: str) -> str:
    """Raw request path for *operation* and *entity_id*; every reserved character is percent-encoded.

    The ids ``.`` and ``..`` are sent as ``%2E`` / ``%2E%2E`` so that no client or proxy removes them as
    dot segments (RFC 3986 section 5.2.4).

    >>> path_for(PROFILE, "a b/c")
    '/v1/customer_profiles/a%20b%2Fc'
    >>> path_for(SESSION, "..")
    '/v1/customer_sessions/%2E%2E'
    >>> path_for(PROFILE_V2, "a b")
    '/v2/customer_profiles/a%20b'
    """
    try:
        prefix = _ALL_PREFIXES[operation]
    except KeyError:
        raise ValueError(f"unknown operation {operation!r}; expected one of {tuple(_ALL_PREFIXES)}") from None
    segment = quote(entity_id, safe="")
    if segment in (".", ".."):
        segment = segment.replace(".", "%2E")
    return prefix + segment


def operation_of_path(path: str, *, api: str = "v1") -> str | None:
    """The operationId whose prefix ``path`` contains (a raw path, a URL or a template), else None.

    ``api="v1"`` (every v1 revision) knows only the v1 prefixes, ``api="v2"`` only the v2 ones.

    >>> operation_of_path("/v1/customer_sessions/{customerSessionId}")
    'updateCustomerSession'
    >>> operation_of_path("/v2/customer_profiles/p1", api="v2")
    'updateCustomerProfileV2'
    """
    prefixes = V2_PATH_PREFIXES if api == "v2" else PATH_PREFIXES
    return next((op for op, prefix in prefixes.items() if prefix in path), None)


QueryValue = bool | str | datetime


def _query_value(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return value


def query_string(query: Mapping[str, QueryValue]) -> str:
    """The encoded query string (no ``?``) for *query*, in its order: booleans as ``true``/``false`` (as the
    official SDK sends them), datetimes as RFC 3339 UTC with ``Z``, strings verbatim; every reserved
    character percent-encoded.

    >>> query_string({"dry": True, "now": "2030-01-01T00:00:00.000000+0000"})
    'dry=true&now=2030-01-01T00%3A00%3A00.000000%2B0000'
    """
    return "&".join(f"{quote(name, safe='')}={quote(_query_value(v), safe='')}" for name, v in query.items())


def encode_body(body: object) -> bytes:
    """Compact JSON bytes for *body*; bytes pass through unchanged.

    orjson is used for speed; integers beyond 64 bits (legal JSON, see the design notes) fall back to
    the standard library. NaN/Infinity raise ValueError (orjson would silently write them as null);
    send a NaN literal as raw bytes instead.
    """
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    try:
        encoded = orjson.dumps(body)
    except orjson.JSONEncodeError:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    if b"null" in encoded and _has_non_finite(body):  # orjson maps NaN/Infinity to null
        raise ValueError("Out of range float values are not JSON compliant (NaN/Infinity in body)")
    return encoded


def _has_non_finite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(v) for v in value)
    return False


def auth_headers(creds: Credentials | None, body: bytes, *, hmac_scheme: bool = True) -> dict[str, str]:
    """Auth headers for *body*: ``Authorization: ApiKey-v1 <key>`` and/or ``Content-Signature``.

    The signature is the lowercase hex HMAC-MD5 of the exact body bytes, keyed with the hex-decoded
    application key. ``hmac_scheme=False`` (v2, D34) never writes a ``Content-Signature``.
    """
    headers: dict[str, str] = {}
    if creds is None:
        return headers
    if creds.api_key is not None:
        headers["Authorization"] = f"ApiKey-v1 {creds.api_key}"
    if creds.hmac_key is not None and hmac_scheme:
        digest = hmac.new(bytes.fromhex(creds.hmac_key), body, hashlib.md5).hexdigest()
        headers["Content-Signature"] = f"signer={creds.hmac_application_id}; signature={digest}"
    return headers


def build_put(
    operation: str,
    entity_id: str,
    body: object,
    *,
    creds: Credentials | None = None,
    content_type: str | None = "application/json",
    query: Mapping[str, QueryValue] | None = None,
) -> PreparedPut:
    """Build the PUT for *operation* (v1 or v2) on *entity_id* with *body*.

    ``body=None`` sends an empty body (which the server reads as ``{}``); bytes are sent verbatim.
    ``content_type=None`` sends no Content-Type header. A non-empty *query* (see ``query_string``) is
    appended to ``path`` after ``?``, so a sender of ``put.path`` can never drop a ``dry=true``. A v2
    operation gets only the API key header: credentials holding only an HMAC key yield a v2 request
    without any credential (which a keyed server answers 401, D34).
    """
    raw = b"" if body is None else encode_body(body)
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    headers.update(auth_headers(creds, raw, hmac_scheme=operation not in V2_OPERATIONS))
    path = path_for(operation, entity_id)
    if query:
        path += "?" + query_string(query)
    return PreparedPut(path=path, headers=headers, body=raw)


def redact(text: str, creds: Credentials | None) -> str:
    """*text* with every secret of *creds* replaced by ``[REDACTED]`` (longest secrets first)."""
    if creds is None:
        return text
    for secret in sorted(creds.secrets(), key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    return text

