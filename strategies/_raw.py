"""Raw byte payloads that are not acceptable JSON documents, one strategy per rule name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies.types import MAX_BODY_BYTES, Invalid, json_pointer
from talon_harness.strategies.wire import PROFILE, SESSION, encode_body

__all__ = ["raw_rules"]

_MALFORMED = (
    b"{",
    b"}",
    b'{"state":}',
    b"{'state':'open'}",
    b'{"state":"open",}',
    b'{state:"open"}',
    b'{"a":1}{"b":2}',
    b'{"total":01}',
    b'{"total":+1}',
    b'{"total":.5}',
    b'{"total":1.}',
    b'{"coupon":"\\x"}',
    b'{"coupon":"a\nb"}',
    b"nul",
    b"{}}",
    b"[}",
    b'{"coupon" "x"}',
    b"\x00{}",
    b'{"total":0x10}',
)
_BAD_UTF8 = (
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xf8\x88\x80\x80\x80",
    b"a\x80b",
    b"\xf4\x90\x80\x80",
)
_NAN = (b"NaN", b"Infinity", b"-Infinity", b"nan")
_OVERFLOW = (b"1e400", b"-1e400", b"1" + b"0" * 400 + b".0")
_BAD_CONTENT_TYPES = (
    None,
    "text/plain",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/json",
    "application/jsonx",
    "json",
)


def _member_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Paths of every object member inside *value* (members of nested objects and arrays too)."""
    found: list[tuple[str | int, ...]] = []
    if isinstance(value, dict):
        for key, member in value.items():
            found.append((*path, key))
            found.extend(_member_paths(member, (*path, key)))
    elif isinstance(value, list):
        for index, member in enumerate(value):
            found.extend(_member_paths(member, (*path, index)))
    return found


def _encode_duplicating(value: Any, path: tuple[str | int, ...]) -> bytes:
    """JSON for *value* in which the member at *path* appears twice (same key, same value)."""
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        items = [_encode_duplicating(v, rest) if i == head else encode_body(v) for i, v in enumerate(value)]
        return b"[" + b",".join(items) + b"]"
    members: list[bytes] = []
    for key, member in value.items():
        encoded = (
            encode_body(key)
            + b":"
            + (_encode_duplicating(member, rest) if key == head and rest else encode_body(member))
        )
        members.extend([encoded, encoded] if key == head and not rest else [encoded])
    return b"{" + b",".join(members) + b"}"


def raw_rules(
    operation: str, base: st.SearchStrategy[dict[str, Any]]
) -> dict[str, st.SearchStrategy[Invalid]]:
    """Rule name -> strategy of raw-payload Invalids for *operation*; *base* draws valid bodies."""

    def wrap(value: bytes) -> bytes:  # put a raw JSON value where the operation expects one
        return (
            b'{"coupon":' + value + b"}" if operation == SESSION else b'{"attributes":{"k":' + value + b"}}"
        )

    def number_at(value: bytes) -> bytes:  # a bare number literal where the operation takes a number
        return wrap(value) if operation == PROFILE else b'{"total":' + value + b"}"

    def inv(rule: str, pointer: str = "", **kw: Any) -> Callable[[bytes], Invalid]:
        return lambda raw: Invalid(raw, rule, pointer, operation=operation, **kw)

    truncated = st.builds(
        lambda raw, cut: raw[: max(1, min(cut, len(raw) - 1))], base.map(encode_body), st.integers(1, 200)
    ).filter(lambda raw: raw != b"")
    duplicates = base.filter(lambda body: bool(_member_paths(body))).flatmap(
        lambda body: st.sampled_from(_member_paths(body)).map(
            lambda path: Invalid(
                _encode_duplicating(body, path), "duplicate_key", json_pointer(*path), operation=operation
            )
        )
    )
    return {
        "malformed_json": st.sampled_from(_MALFORMED).map(inv("malformed_json")),
        "truncated_json": truncated.map(inv("truncated_json")),
        "invalid_utf8": st.sampled_from(_BAD_UTF8)
        .map(lambda b: wrap(b'"' + b + b'"'))
        .map(inv("invalid_utf8")),
        "bom": base.map(lambda b: b"\xef\xbb\xbf" + encode_body(b)).map(inv("bom")),
        "nan_literal": st.sampled_from(_NAN).map(number_at).map(inv("nan_literal")),
        "number_overflow": st.sampled_from(_OVERFLOW).map(number_at).map(inv("number_overflow")),
        "nesting_too_deep": st.integers(100_000, 100_010)
        .map(lambda n: b"[" * n + b"]" * n)
        .map(inv("nesting_too_deep")),
        "duplicate_key": duplicates,
        "content_type": st.builds(
            lambda body, ct: Invalid(
                encode_body(body),
                "content_type",
                "",
                ct,
                operation=operation,
                status=415,
                parameter="Content-Type",
            ),
            base,
            st.sampled_from(_BAD_CONTENT_TYPES),
        ),
        "body_size_limit": st.integers(0, 100).map(
            lambda extra: Invalid(
                b'{"attributes":{"pad":"' + b"x" * (MAX_BODY_BYTES + extra) + b'"}}',
                "body_size_limit",
                "",
                operation=operation,
                status=413,
            )
        ),
    }
