"""API errors. Each error holds the facts; only `app.py` turns them into a status and an ErrorResponse.

Tree::

    ApiError(status, message, items, headers)
    ├── NotFound            404 unknown path
    ├── MethodNotAllowed    405 (Allow: PUT)
    ├── InvalidId           400 source.parameter = integrationId | customerSessionId (D12)
    ├── Unauthorized        401 source.parameter = Authorization | Content-Signature (D2)
    ├── SignatureMismatch   400 source.parameter = Content-Signature (D2)
    ├── PayloadTooLarge     413 source.pointer = "" (D13)
    ├── UnsupportedMediaType 415 source.parameter = Content-Type (D15)
    ├── MalformedBody       400 body is not acceptable JSON (pointer "" or the duplicated member)
    └── InvalidData         400 "The submitted data was invalid", one ErrorItem per problem
        ├── IllegalStateTransition (current, requested)   pointer /state (D5)
        ├── SessionClosed (state, pointer)                 first changed field (D5)
        └── OutOfRange (pointer)                           totalSales would be non-finite (D6)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ApiError",
    "ErrorItem",
    "IllegalStateTransition",
    "InvalidData",
    "InvalidId",
    "MalformedBody",
    "MethodNotAllowed",
    "NotFound",
    "OutOfRange",
    "PayloadTooLarge",
    "SessionClosed",
    "SignatureMismatch",
    "Unauthorized",
    "UnsupportedMediaType",
    "json_pointer",
]

INVALID_DATA = "The submitted data was invalid"


def json_pointer(*parts: str | int) -> str:
    """RFC 6901 pointer from path parts: json_pointer("cartItems", 2, "a/b") == "/cartItems/2/a~1b"."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class ErrorItem:
    """One APIError entry: exactly one of pointer / parameter is set."""

    title: str
    details: str | None = None
    pointer: str | None = None
    parameter: str | None = None

    def to_json(self) -> dict[str, Any]:
        source = {"pointer": self.pointer} if self.pointer is not None else {"parameter": self.parameter}
        out: dict[str, Any] = {"title": self.title}
        if self.details is not None:
            out["details"] = self.details
        out["source"] = source
        return out


class ApiError(Exception):
    """Base class: an HTTP status, a message and the error items for the ErrorResponse body."""

    status: int = 400

    def __init__(
        self, message: str, items: Iterable[ErrorItem] = (), *, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.items = tuple(items)
        self.headers = tuple(headers)

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "errors": [item.to_json() for item in self.items]}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r}, items={self.items!r})"


class NotFound(ApiError):
    status = 404

    def __init__(self, path: str) -> None:
        super().__init__(
            f"No route for {path!r}", [ErrorItem("Not found", f"Unknown path {path!r}.", pointer="")]
        )
        self.path = path


class MethodNotAllowed(ApiError):
    status = 405

    def __init__(self, method: str, path: str) -> None:
        super().__init__(
            f"Method {method} not allowed",
            [ErrorItem("Method not allowed", f"Only PUT is allowed on {path!r}, got {method}.", pointer="")],
            headers=[("allow", "PUT")],
        )
        self.method = method


class InvalidId(ApiError):
    status = 400

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(
            f"Invalid path parameter {parameter}", [ErrorItem("Invalid id", reason, parameter=parameter)]
        )
        self.parameter = parameter


class Unauthorized(ApiError):
    status = 401

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__("Unauthorized", [ErrorItem("Unauthorized", reason, parameter=parameter)])
        self.parameter = parameter


class SignatureMismatch(ApiError):
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(
            "HMAC signature mismatch.",
            [ErrorItem("HMAC signature mismatch", reason, parameter="Content-Signature")],
        )


class PayloadTooLarge(ApiError):
    status = 413

    def __init__(self, limit: int, received: int | None) -> None:
        got = "more" if received is None else f"{received} bytes"
        super().__init__(
            "Request body too large",
            [ErrorItem("Payload too large", f"At most {limit} bytes allowed, got {got}.", pointer="")],
        )
        self.limit = limit
        self.received = received


class UnsupportedMediaType(ApiError):
    status = 415

    def __init__(self, content_type: str | None) -> None:
        super().__init__(
            "Unsupported media type",
            [
                ErrorItem(
                    "Unsupported media type",
                    f"Expected application/json or application/*+json, got {content_type!r}.",
                    parameter="Content-Type",
                )
            ],
        )
        self.content_type = content_type


class MalformedBody(ApiError):
    status = 400

    def __init__(self, title: str, details: str, pointer: str = "") -> None:
        super().__init__("The request body is not valid JSON", [ErrorItem(title, details, pointer=pointer)])
        self.pointer = pointer


class InvalidData(ApiError):
    status = 400

    def __init__(self, items: Iterable[ErrorItem]) -> None:
        super().__init__(INVALID_DATA, items)


# the oracle's own error titles (the harness's: strategies.wire.DOMAIN_ERROR_TITLES, strategies.invalid.RULE_TITLES)
class IllegalStateTransition(InvalidData):
    def __init__(self, current: str, requested: str) -> None:
        super().__init__(
            [
                ErrorItem(
                    "Illegal state transition",
                    f"A session in state {current!r} cannot move to {requested!r}.",
                    pointer="/state",
                )
            ]
        )
        self.current = current
        self.requested = requested


class SessionClosed(InvalidData):
    def __init__(self, state: str, pointer: str) -> None:
        allowed = "only a move to 'cancelled'" if state == "closed" else "no change"
        super().__init__(
            [ErrorItem("Session closed", f"The session is {state}; it accepts {allowed}.", pointer=pointer)]
        )
        self.state = state
        self.pointer = pointer


class OutOfRange(InvalidData):
    def __init__(self, pointer: str, details: str) -> None:
        super().__init__([ErrorItem("Out of range", details, pointer=pointer)])
        self.pointer = pointer
