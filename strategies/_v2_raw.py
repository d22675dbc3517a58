"""The tagged invalid v2 request (``V2Invalid``) and the v2 requests whose payload is refused before any
schema rule: not JSON, not sent as JSON, or too large (D13, D15 as v1; the v2 routes share the v1 parser)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies.types import MAX_BODY_BYTES
from talon_harness.strategies.wire import QueryValue, encode_body

__all__ = ["V2Invalid", "raw_rules_v2"]


@dataclass(frozen=True)
class V2Invalid:
    """A v2 request a server must refuse: *body* (a JSON value, or raw bytes) broken by rule *breaks*.

    Send it to ``operation`` with ``query`` and ``content_type`` (None: no Content-Type header). A correct
    server answers ``status`` with exactly one APIError whose ``title`` is *title* and whose ``source`` is
    ``{"pointer": pointer}`` or, when *parameter* is set, ``{"parameter": parameter}``; it writes nothing.
    ``contract_rejects``: integration-v2.yaml's request schema alone refuses *body* (False for raw bytes and
    for rules that are decisions beyond the SDK's schemas).
    """

    operation: str
    body: Any
    breaks: str
    title: str
    pointer: str | None = None
    parameter: str | None = None
    query: Mapping[str, QueryValue] = field(default_factory=dict)
    status: int = 400
    contract_rejects: bool = True
    content_type: str | None = "application/json"


_MALFORMED = (b"{", b'{"customerSession":}', b"{'customerSession':{}}", b'{"customerSession":{},}', b"nul",
              b'{"a":1}{"b":2}', b"[}", b'{"attributes":{"k":01}}')
_BAD_CONTENT_TYPES = (None, "text/plain", "application/xml", "application/x-www-form-urlencoded", "text/json")


def raw_rules_v2(operation: str, base: st.SearchStrategy[Any]) -> dict[str, st.SearchStrategy[V2Invalid]]:
    """Rule name -> strategy of raw-payload ``V2Invalid``s for *operation*; *base* draws valid bodies.

    ``malformed_json``: 400 "Malformed JSON" at ``""``; ``content_type``: a valid body under a non-JSON (or no)
    Content-Type, 415 at parameter ``Content-Type``; ``body_size_limit``: one byte to 100 bytes over 1 MiB,
    413 "Payload too large" at ``""``."""

    def raw(rule: str, title: str, pointer: str | None = "", **kw: Any) -> Any:
        return lambda payload: V2Invalid(operation, payload, rule, title, pointer, contract_rejects=False, **kw)

    oversized = st.integers(1, 100).map(
        lambda extra: b'{"attributes":{"pad":"' + b"x" * (MAX_BODY_BYTES + extra) + b'"}}')
    return {
        "malformed_json": st.sampled_from(_MALFORMED).map(raw("malformed_json", "Malformed JSON")),
        "content_type": st.builds(
            lambda body, content_type: raw("content_type", "Unsupported media type", None, parameter="Content-Type",
                                           status=415, content_type=content_type)(encode_body(body)),
            base, st.sampled_from(_BAD_CONTENT_TYPES)),
        "body_size_limit": oversized.map(raw("body_size_limit", "Payload too large", status=413)),
    }
