"""Value types shared by the strategies: the tagged invalid request and JSON pointers."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MAX_BODY_BYTES", "Invalid", "json_pointer"]

MAX_BODY_BYTES = 1_048_576


@dataclass(frozen=True)
class Invalid:
    """A request the server must reject: *body* (object, or raw bytes) broken by rule *breaks*.

    The server answers ``status`` with an error whose ``source.pointer`` is *pointer*, or, when
    *parameter* is set (Content-Type problems), whose ``source.parameter`` is *parameter*.
    ``content_type=None`` means: send no Content-Type header.
    """

    body: object | bytes
    breaks: str
    pointer: str
    content_type: str | None = "application/json"
    operation: str = field(kw_only=True)
    status: int = field(default=400, kw_only=True)
    parameter: str | None = field(default=None, kw_only=True)


def json_pointer(*parts: str | int) -> str:
    """RFC 6901 pointer from unescaped parts: ``json_pointer("attributes", "a/b") == "/attributes/a~1b"``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
