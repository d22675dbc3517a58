"""The v2 query parameters `dry`, `now` and `runRuleEngine` (D28, D29, D30): `parse_query` returns them parsed
or raises `InvalidQuery` (400, source.parameter names the parameter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from .errors import ErrorItem, InvalidData
from .v2_validation import DATE_TIME

__all__ = ["InvalidQuery", "Query", "parse_query"]


class InvalidQuery(InvalidData):
    """400 for a query parameter (source.parameter names it)."""

    def __init__(self, parameter: str, title: str, details: str) -> None:
        super().__init__([ErrorItem(title, details, parameter=parameter)])
        self.parameter = parameter


@dataclass(frozen=True)
class Query:
    """The v2 query parameters: dry, now (aware UTC datetime) and runRuleEngine (default false, D30)."""

    dry: bool = False
    now: datetime | None = None
    run_rule_engine: bool = False


_NO_QUERY = Query()


def _boolean(name: str, raw: str) -> bool:
    if raw not in ("true", "false"):
        raise InvalidQuery(name, "Invalid value", f"Expected 'true' or 'false', got {raw[:40]!r}.")
    return raw == "true"


def parse_query(query_string: bytes, *, allowed: tuple[str, ...]) -> Query:
    """Parse `dry`, `now`, `runRuleEngine` (those in `allowed`; other parameters are ignored, D28).

    `now` (D29) is RFC 3339 or the SDK's form (offset without colon, or none = UTC), only with dry=true,
    and later than the server's clock."""
    if not query_string:
        return _NO_QUERY
    values: dict[str, str] = {}
    for name, raw in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in allowed:
            if name in values:
                raise InvalidQuery(name, "Repeated parameter", f"{name!r} may be given once.")
            values[name] = raw
    dry = _boolean("dry", values["dry"]) if "dry" in values else False
    run = _boolean("runRuleEngine", values["runRuleEngine"]) if "runRuleEngine" in values else False
    now = None
    if "now" in values:
        raw = values["now"]
        if not DATE_TIME.fullmatch(raw):
            raise InvalidQuery("now", "Invalid value", f"Expected an RFC 3339 date-time, got {raw[:40]!r}.")
        try:
            now = datetime.fromisoformat(raw.upper())
            now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        except (ValueError, OverflowError):  # OverflowError: no UTC date-time (0001-01-01T00:00:00+00:01)
            raise InvalidQuery("now", "Invalid value", f"{raw[:40]!r} is not a valid date-time.") from None
        if not dry:
            raise InvalidQuery("now", "Requires dry", "'now' may only be used with dry=true.")
        clock = datetime.now(UTC)
        if now <= clock:
            raise InvalidQuery("now", "Not in the future", f"'now' must be later than {clock.isoformat()}.")
    return Query(dry=dry, now=now, run_rule_engine=run)
