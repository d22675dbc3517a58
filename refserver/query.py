"""The query string of an upsert: the `dry` parameter of the final v1 revision (D17).

`dry_run(query, api)` returns True when the request asks for a dry run and the revision has one. It
raises `InvalidParameter` (400, `source.parameter` = "dry") when `dry` is given twice or with a value
other than true/false (any letter case: older generated clients send `True`), and, on the seed revision
("v1", which has no `dry`), whenever `dry` is given at all: a server of that revision would write what
the client asked it not to. Other query parameters are ignored, as before.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from .errors import ApiError, ErrorItem

__all__ = ["InvalidParameter", "dry_run"]

_BOOLEANS = {"true": True, "false": False}


class InvalidParameter(ApiError):
    """400 for a query parameter: `source.parameter` names it."""

    status = 400

    def __init__(self, parameter: str, title: str, details: str) -> None:
        super().__init__(f"Invalid query parameter {parameter}", [ErrorItem(title, details, parameter=parameter)])
        self.parameter = parameter


def dry_run(query: bytes, api: str) -> bool:
    """See module docstring; `api` is one of `config.API_REVISIONS`."""
    if b"dry" not in query:  # the common case: no parsing at all
        return False
    values = [value for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if name == "dry"]
    if not values:
        return False
    if api == "v1":
        raise InvalidParameter(
            "dry",
            "Unknown parameter",
            "The seed revision of v1 (2018-02) has no 'dry' parameter; nothing was written. "
            "The final revision (serve --api v1-2021) has it.",
        )
    if len(values) > 1:
        raise InvalidParameter("dry", "Repeated parameter", f"'dry' must be given once, got {len(values)} values.")
    flag = _BOOLEANS.get(values[0].lower())
    if flag is None:
        raise InvalidParameter("dry", "Invalid value", f"Expected true or false, got {values[0][:40]!r}.")
    return flag
