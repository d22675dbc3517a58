"""Recorded traffic: the NDJSON record format, HAR 1.2 input, id remapping, the schedule, and the split by entity.

Record format (one JSON object per line, written by ``talon-harness proxy --record``)::

    {"offset_ms": 12.5, "method": "PUT", "path": "/v1/customer_sessions/s%2F1",
     "headers": [["content-type", "application/json"]], "body": "{...}",
     "status": 200, "response_headers": [[...]], "response_body": "{...}", "latency_ms": 1.9}

``path`` is the raw request target (path and query) as sent, bytes decoded as Latin-1; a body that is not
UTF-8 is stored as ``body_base64`` / ``response_body_base64`` instead. Credential headers
(:data:`CREDENTIAL_HEADERS`) are never written.

Replaying: :func:`load_traffic` reads our NDJSON or a HAR 1.2 file and keeps only the PUTs of the v1 and v2
operations; :func:`remap` gives every valid id a per-run prefix (the same map for paths and for a session's
``profileId``, a v2 session's ``customerSession.profileId``, so sessions stay tied to their profiles and two
runs never collide); :func:`split` groups
the entries into customers (a profile and every session that names it) and deals the customers to
workers, so each entity's requests stay in order on one worker.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from talon_harness.strategies.wire import (
    OPERATIONS,
    PATH_PREFIXES,
    PROFILE,
    PROFILE_V2,
    SESSION,
    SESSION_V2,
    V2_PATH_PREFIXES,
    encode_body,
    path_for,
)

__all__ = [
    "CREDENTIAL_HEADERS",
    "REPLAY_LOCUSTFILE",
    "REPORT_KEY",
    "Entry",
    "ReplayFileError",
    "exchange_record",
    "load_traffic",
    "remap",
    "split",
    "to_har",
]

#: Never written to a recording, never replayed from one.
CREDENTIAL_HEADERS = frozenset({"authorization", "content-signature", "proxy-authorization", "cookie", "set-cookie",
                                "api-key", "x-api-key"})
#: ``locust -f`` for replay runs (a path, so that nothing here imports Locust).
REPLAY_LOCUSTFILE = Path(__file__).with_name("replay_locustfile.py")
#: Key of the replay counts in worker reports.
REPORT_KEY = "talon_replay"
#: raw path prefix -> operationId, v1 and v2 (a v2 session's profile link is ``customerSession.profileId``)
_PREFIXES = {prefix: op for op, prefix in (*PATH_PREFIXES.items(), *V2_PATH_PREFIXES.items())}
_MAX_ID = 1000


class ReplayFileError(ValueError):
    """The file is neither our NDJSON recording nor a HAR 1.2 file, or holds none of the two operations."""


def _text(data: bytes, key: str) -> dict[str, str]:
    try:
        return {key: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {key + "_base64": base64.b64encode(data).decode("ascii")}


def exchange_record(*, offset_ms: float, method: str, path: bytes, headers: Iterable[tuple[str, str]], body: bytes,
                    status: int, response_headers: Iterable[tuple[str, str]], response_body: bytes,
                    latency_ms: float) -> dict[str, Any]:
    """One recording line as a dict; credential headers are dropped here, whatever the caller passes."""
    return {
        "offset_ms": round(offset_ms, 3),
        "method": method,
        "path": path.decode("latin-1"),
        "headers": [[k, v] for k, v in headers if k.lower() not in CREDENTIAL_HEADERS],
        **_text(body, "body"),
        "status": status,
        "response_headers": [[k, v] for k, v in response_headers if k.lower() not in CREDENTIAL_HEADERS],
        **_text(response_body, "response_body"),
        "latency_ms": round(latency_ms, 3),
    }


@dataclass(frozen=True)
class Entry:
    """One request to replay: when (ms after the first), what, and the status the recording got."""

    offset_ms: float
    operation: str
    entity_id: str | None  # None: the path names no valid entity (sent as recorded)
    path: str  # raw target as recorded
    headers: tuple[tuple[str, str], ...]  # credential headers removed
    body: bytes
    status: int
    profile_id: str | None = None  # a session body's profileId (non-empty string), the link to its profile


def _operation(path: str) -> tuple[str | None, str | None, str]:
    """``(operation, entity id or None, query)`` for a raw target, routing like the server (raw path)."""
    head, _, query = path.partition("?")
    for prefix, op in _PREFIXES.items():
        if head.startswith(prefix):
            raw = head[len(prefix):]
            if "/" in raw:
                return op, None, query
            try:
                entity = unquote(raw, errors="strict")
            except UnicodeDecodeError:
                return op, None, query
            valid = 1 <= len(entity) <= _MAX_ID and not any(unicodedata.category(c) == "Cc" for c in entity)  # D12
            return op, entity if valid else None, query
    return None, None, query


def _linked(operation: str, doc: Any) -> dict[str, Any] | None:
    """The object of a session body that holds its ``profileId``: the body (v1), its ``customerSession`` (v2)."""
    if operation == SESSION_V2 and isinstance(doc, dict):
        doc = doc.get("customerSession")
    return doc if operation in (SESSION, SESSION_V2) and isinstance(doc, dict) else None


def _profile_id(operation: str, body: bytes) -> str | None:
    if operation not in (SESSION, SESSION_V2) or b"profileId" not in body:
        return None
    try:
        doc = _linked(operation, json.loads(body))
    except (ValueError, RecursionError):
        return None
    pid = doc.get("profileId") if doc is not None else None
    return pid if isinstance(pid, str) and pid else None


def _entry(offset_ms: float, method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes,
           status: int) -> Entry | None:
    op, entity, _ = _operation(path)
    if method.upper() != "PUT" or op is None:
        return None
    kept = tuple((k, v) for k, v in headers if k.lower() not in CREDENTIAL_HEADERS)
    return Entry(offset_ms, op, entity, path, kept, body, status, _profile_id(op, body))


def _body(doc: Mapping[str, Any], key: str) -> bytes:
    if key + "_base64" in doc:
        return base64.b64decode(doc[key + "_base64"])
    value = doc.get(key) or ""
    return value.encode("utf-8")


def _from_ndjson(lines: Iterable[str], name: str) -> Iterator[Entry]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            entry = _entry(float(doc["offset_ms"]), str(doc["method"]), str(doc["path"]),
                           [(str(k), str(v)) for k, v in doc.get("headers", [])], _body(doc, "body"), int(doc["status"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ReplayFileError(f"{name} line {n}: not a recording line ({type(exc).__name__}: {exc})") from None
        if entry is not None:
            yield entry


def _har_time_ms(started: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(started).timestamp() * 1000.0


def _from_har(doc: Mapping[str, Any], name: str) -> Iterator[Entry]:
    try:
        entries = doc["log"]["entries"]
        for item in entries:
            request, response = item["request"], item["response"]
            url = urlsplit(request["url"])
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            post = request.get("postData") or {}
            text = post.get("text") or ""
            body = base64.b64decode(text) if post.get("encoding") == "base64" else text.encode("utf-8")
            headers = [(h["name"], h["value"]) for h in request.get("headers", [])
                       if not h["name"].startswith(":")]  # HTTP/2 pseudo-headers
            if post.get("mimeType") and not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("Content-Type", post["mimeType"]))
            entry = _entry(_har_time_ms(item["startedDateTime"]), request["method"], path, headers, body,
                           int(response["status"]))
            if entry is not None:
                yield entry
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplayFileError(f"{name}: not a HAR 1.2 file ({type(exc).__name__}: {exc})") from None


def load_traffic(path: Path) -> list[Entry]:
    """The PUTs of the two operations in ``path`` (NDJSON recording or HAR 1.2), by offset, the first at 0 ms.

    Raises :class:`ReplayFileError` (one line, naming the file) when it cannot be read or keeps nothing.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayFileError(f"cannot read {path}: {exc}") from None
    stripped = text.lstrip()
    har = None
    if stripped.startswith("{") and '"log"' in stripped[:2000]:
        try:
            har = json.loads(text)
        except ValueError:
            har = None
    entries = list(_from_har(har, str(path)) if isinstance(har, dict) and "log" in har
                   else _from_ndjson(text.splitlines(), str(path)))
    if not entries:
        raise ReplayFileError(f"{path}: no PUT of {' or '.join(OPERATIONS)} to replay")
    entries.sort(key=lambda e: e.offset_ms)
    first = entries[0].offset_ms
    return [replace(e, offset_ms=e.offset_ms - first) for e in entries]


def _mapped(entity: str, prefix: str) -> str:
    new = prefix + entity
    if len(new) <= _MAX_ID:
        return new
    import hashlib

    return prefix + hashlib.sha256(entity.encode("utf-8")).hexdigest()


def remap(entries: Sequence[Entry], prefix: str) -> list[Entry]:
    """The entries with every valid id (path ids and session ``profileId``\\ s) given ``prefix``.

    The same original id always maps to the same new id, so a session stays tied to its profile. Paths are
    rebuilt by ``strategies.wire.path_for`` (query kept); a body is re-encoded only when it names a profile.
    """
    out = []
    for e in entries:
        path, body, pid = e.path, e.body, e.profile_id
        if e.entity_id is not None:
            _, _, query = e.path.partition("?")
            path = path_for(e.operation, _mapped(e.entity_id, prefix)) + (f"?{query}" if query else "")
        if pid is not None:
            doc = json.loads(body)
            linked = _linked(e.operation, doc)
            assert linked is not None  # a profile_id was read from this very object
            pid = linked["profileId"] = _mapped(pid, prefix)
            body = encode_body(doc)
        out.append(replace(e, path=path, body=body, profile_id=pid,
                           entity_id=None if e.entity_id is None else _mapped(e.entity_id, prefix)))
    return out


def _customers(entries: Sequence[Entry]) -> list[list[int]]:
    """Indexes of entries grouped by customer: entities linked through a session's profileId (union-find)."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(k: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(k, k)
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    keys = []
    for i, e in enumerate(entries):
        key = (e.operation, e.entity_id if e.entity_id is not None else f"#unroutable{i}")
        keys.append(key)
        find(key)
        if e.profile_id is not None:
            a, b = find(key), find((PROFILE_V2 if e.operation == SESSION_V2 else PROFILE, e.profile_id))
            if a != b:
                parent[a] = b
    groups: dict[tuple[str, str], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(find(key), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def split(entries: Sequence[Entry], workers: int) -> list[list[list[Entry]]]:
    """Deal customers (each a list of entries in offset order) to ``workers`` shares, balancing entry counts."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    shares: list[list[list[Entry]]] = [[] for _ in range(workers)]
    sizes = [0] * workers
    for group in sorted(_customers(entries), key=len, reverse=True):
        at = sizes.index(min(sizes))
        shares[at].append([entries[i] for i in group])
        sizes[at] += len(group)
    for share in shares:
        share.sort(key=lambda c: c[0].offset_ms)
    return shares


def to_har(records: Iterable[Mapping[str, Any]], base_url: str) -> dict[str, Any]:
    """A HAR 1.2 document for recording lines (what a browser or proxy export holds for them)."""
    from datetime import UTC, datetime

    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    entries = []
    for r in records:
        headers = [{"name": k, "value": v} for k, v in r["headers"]]
        body = _body(r, "body")
        content_type = next((v for k, v in r["headers"] if k.lower() == "content-type"), "")
        request: dict[str, Any] = {"method": r["method"], "url": base_url.rstrip("/") + r["path"],
                                   "httpVersion": "HTTP/1.1", "headers": headers, "queryString": [], "cookies": [],
                                   "headersSize": -1, "bodySize": len(body)}
        if body:
            request["postData"] = {"mimeType": content_type, "text": body.decode("utf-8", "replace")}
        response_body = _body(r, "response_body")
        entries.append({
            "startedDateTime": datetime.fromtimestamp(start + r["offset_ms"] / 1000.0, UTC).isoformat(),
            "time": r["latency_ms"], "request": request,
            "response": {"status": r["status"], "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
                         "headers": [{"name": k, "value": v} for k, v in r["response_headers"]],
                         "content": {"size": len(response_body), "mimeType": "application/json",
                                     "text": response_body.decode("utf-8", "replace")},
                         "redirectURL": "", "headersSize": -1, "bodySize": len(response_body)},
            "cache": {}, "timings": {"send": 0, "wait": r["latency_ms"], "receive": 0},
        })
    return {"log": {"version": "1.2", "creator": {"name": "talon-harness", "version": "0"}, "entries": entries}}
