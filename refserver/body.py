"""Request body bytes -> JSON value, rejecting what D13/D15 and the wire notes forbid.

Guarantees of `parse_body`: returns a JSON value (dict/list/str/int/float/bool/None) in which every float
is finite and no object had a duplicated key; an empty body is `{}`. Otherwise raises `MalformedBody`
(400) with pointer "" for document-level problems (invalid UTF-8, BOM, syntax, NaN/Infinity, a number
overflowing to infinity, nesting too deep), the pointer of the duplicated member (e.g. "/cartItems/0/sku"),
or of a string with an unpaired surrogate escape such as "\\ud800" (which UTF-8 cannot store).

Fast path (bodies with at most 512 "[" or "{" bytes): orjson parses the body, and if orjson re-encodes the result to exactly the bytes received, the
body is compact canonical JSON, so it can hold no duplicate key, NaN, overflowing number, big integer
(orjson would have read it as a float) or escape; the result is then the same value the checked parser
gives. Anything else (whitespace, other number spellings, escapes, errors) goes through the checked path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import orjson

from .errors import MalformedBody, json_pointer

__all__ = ["is_json_media_type", "parse_body", "parse_checked"]

_BOM = b"\xef\xbb\xbf"
# At most this many "[" / "{" bytes (so nesting at most this deep): far below the depth where json's
# recursion limit (the checked path) and orjson's limit (1024) could answer differently.
_FAST_PATH_MAX_OPENERS = 512
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _DuplicateKeys(dict):
    """A parsed object that had a repeated key (`duplicate` names the first one repeated)."""

    duplicate: str


def _mark_duplicate(obj: dict[str, Any], pairs: list[tuple[str, Any]]) -> _DuplicateKeys:
    seen: set[str] = set()
    marked = _DuplicateKeys(obj)
    for key, _ in pairs:
        if key in seen:
            marked.duplicate = key
            break
        seen.add(key)
    return marked


def _reject_constant(name: str) -> Any:
    raise MalformedBody("Invalid number", f"{name} is not a JSON number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise MalformedBody("Invalid number", f"The number {text[:40]!r} overflows to infinity.")
    return value


def _decode(text: str) -> tuple[Any, bool]:
    """Decode `text`; the flag says whether some object repeated a key (then `_find_duplicate`)."""
    duplicates: list[bool] = []

    def object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        duplicates.append(True)
        return _mark_duplicate(obj, pairs)

    decoder = json.JSONDecoder(
        object_pairs_hook=object_pairs, parse_constant=_reject_constant, parse_float=_finite_float
    )
    return decoder.decode(text), bool(duplicates)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _walk(doc: Any) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path, value) for every value, depth first in document order; iterative, so no RecursionError."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend(reversed([((*path, k), v) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([((*path, i), v) for i, v in enumerate(value)]))


def _find_duplicate(doc: Any) -> str | None:
    """Pointer of the first duplicated member."""
    for path, value in _walk(doc):
        if isinstance(value, _DuplicateKeys):
            return json_pointer(*path, value.duplicate)
    return None


def _find_lone_surrogate(doc: Any) -> str | None:
    """Pointer of the first string holding an unpaired surrogate, or of the object whose key holds one
    (the key itself cannot be written into a UTF-8 pointer)."""
    for path, value in _walk(doc):
        if (isinstance(value, str) and _has_surrogate(value)) or (
            isinstance(value, dict) and any(_has_surrogate(key) for key in value)
        ):
            return json_pointer(*path)
    return None


def parse_body(raw: bytes) -> Any:
    """Parse a request body (see module docstring for the guarantees)."""
    if not raw:
        return {}
    if raw.count(b"[") + raw.count(b"{") <= _FAST_PATH_MAX_OPENERS:
        try:
            doc = orjson.loads(raw)
            if orjson.dumps(doc) == raw:
                return doc
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # encode: nesting past orjson's 254 levels
            pass
    return parse_checked(raw)


def parse_checked(raw: bytes) -> Any:
    """`parse_body` without the orjson fast path (the reference the fast path must agree with)."""
    if not raw:
        return {}
    if raw.startswith(_BOM):
        raise MalformedBody("Invalid encoding", "The body starts with a UTF-8 byte order mark.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody("Invalid encoding", f"The body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        doc, has_duplicates = _decode(text)
    except json.JSONDecodeError as exc:
        raise MalformedBody("Malformed JSON", f"{exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except RecursionError:
        raise MalformedBody("Nested too deeply", "The document is nested too deeply to parse.") from None
    except ValueError as exc:  # e.g. an integer with too many digits
        raise MalformedBody("Invalid number", str(exc)) from None
    if has_duplicates:
        pointer = _find_duplicate(doc) or ""
        raise MalformedBody("Duplicate key", f"The member {pointer!r} appears more than once.", pointer)
    if _SURROGATE_ESCAPE.search(text):
        lone = _find_lone_surrogate(doc)
        if lone is not None:
            raise MalformedBody(
                "Invalid string", "The string holds an unpaired UTF-16 surrogate escape.", lone
            )
    return doc


def is_json_media_type(content_type: str | None) -> bool:
    """True for application/json (any parameters) and application/*+json (D15)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json":
        return True
    return (
        media.startswith("application/") and media.endswith("+json") and len(media) > len("application/+json")
    )
