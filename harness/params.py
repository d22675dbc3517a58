"""The click parameter types of the ``talon-harness`` command line: every option value is checked here,
when the command line is parsed, before any server starts.

A bad value fails with click's one-line ``Invalid value for '--option': ...`` message naming what is
accepted; secrets (``Secret``, ``HmacCredentials``) are never echoed in it. File types
read and validate the file's content (missing, empty and malformed files are rejected alike).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import string
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

__all__ = [
    "BaselineFile", "ContentFile", "Duration", "FieldNames", "HmacCredentials", "Host", "Names", "OutputFile",
    "RecordingFile", "RulesFile", "RulesPath", "Secret", "SloFile", "SqliteFile", "Url", "parse_duration",
]

_DURATION = re.compile(r"(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s?)?")
DURATION_FORMS = "seconds (90, 2.5) or 90s, 2m, 1h30m"


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``90``, ``2.5``, ``90s``, ``2m``, ``1h30m``, ``1h2m3s``; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration; use {DURATION_FORMS}")
    hours, minutes, seconds = (float(match[g] or 0) for g in ("h", "m", "s"))
    return hours * 3600 + minutes * 60 + seconds


class Duration(click.ParamType):
    """A duration as people write it (see `parse_duration`), in seconds, within ``[minimum, maximum]``:
    by default ``loadtests.config.DURATION_BOUNDS_S``, the one home of the bounds, checked by the same
    ``check_duration`` as ``LoadConfig`` (imported when a value is converted, so the CLI starts without it)."""

    name = "duration"

    def __init__(self, minimum: float | None = None, maximum: float | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(str(value))
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        from talon_harness.loadtests.config import DURATION_BOUNDS_S, check_duration

        low, high = DURATION_BOUNDS_S
        try:
            return check_duration(seconds, (low if self.minimum is None else self.minimum,
                                            high if self.maximum is None else self.maximum))
        except ValueError as exc:
            self.fail(f"{value!r} is {exc}", param, ctx)


class Names(click.ParamType):
    """Names from a known list, looked up only when a value is given (``choices`` is a callable, so the
    command line starts without importing the catalogues). ``many``: comma-separated, converts to a
    tuple (empty input: ``()``); otherwise exactly one name."""

    name = "name"

    def __init__(self, choices: Callable[[], Iterable[str]], *, many: bool = False) -> None:
        self.choices, self.many = choices, many
        if many:
            self.name = "names"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        names = tuple(n.strip() for n in str(value).split(",") if n.strip()) if self.many else (str(value),)
        known = tuple(self.choices())
        unknown = [n for n in names if n not in known]
        if unknown:
            self.fail(f"unknown name(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(known)}", param, ctx)
        return names if self.many else names[0]


class Secret(click.ParamType):
    """A non-empty secret without whitespace; never shown in an error message."""

    name = "secret"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text or any(c.isspace() or not c.isprintable() for c in text):
            self.fail("expected a non-empty key without spaces or control characters (value not shown)",
                      param, ctx)
        return text


def _hmac_key_ok(key: str) -> bool:
    return len(key) == 16 and all(c in string.hexdigits for c in key)


class HmacCredentials(click.ParamType):
    """``APP_ID:KEY`` (a positive application id, a 16-hex-digit key) -> ``(app_id, key)``; never shown."""

    name = "app_id:key"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, str]:
        if isinstance(value, tuple):
            return value
        app_id, sep, key = str(value).partition(":")
        if not sep or not app_id.isdigit() or int(app_id) < 1 or not _hmac_key_ok(key):
            self.fail("expected APP_ID:KEY, a positive numeric id and a 16-hex-digit key (value not shown)",
                      param, ctx)
        return int(app_id), key


class Url(click.ParamType):
    """An ``http://`` or ``https://`` URL with a host (trailing slash removed)."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        parts = urlsplit(str(value))
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            self.fail(f"{value!r} has an invalid port; expected e.g. http://127.0.0.1:8000", param, ctx)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(f"{value!r} is not an http(s) URL; expected e.g. http://127.0.0.1:8000", param, ctx)
        return str(value).rstrip("/")


class Host(click.ParamType):
    """An interface to bind: an IP address or a host name that resolves."""

    name = "host"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        try:
            ipaddress.ip_address(text)
            return text
        except ValueError:
            pass
        try:
            socket.getaddrinfo(text, None)
        except (OSError, UnicodeError):
            self.fail(f"{text!r} is neither an IP address nor a resolvable host name", param, ctx)
        return text


class ContentFile(click.ParamType):
    """An existing, non-empty file whose content ``load`` turns into the option's value."""

    what = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, (str, Path)):
            return value
        path = Path(value)
        if not path.is_file():
            self.fail(f"{self.what} {str(path)!r} does not exist or is not a file", param, ctx)
        try:
            if not path.stat().st_size:
                self.fail(f"{self.what} {str(path)!r} is empty", param, ctx)
            return self.load(path)
        except click.BadParameter:
            raise
        except Exception as exc:  # noqa: BLE001 - any parse error of the file is the user's bad input
            reason = " ".join(str(exc).split()) or type(exc).__name__
            self.fail(f"{self.what} {str(path)!r} is not valid: {reason}", param, ctx)

    def load(self, path: Path) -> Any:
        raise NotImplementedError


class RulesFile(ContentFile):
    """A coupon/referral rule set (JSON) -> `refserver.RuleSet`."""

    name = "rules.json"
    what = "rule file"

    def load(self, path: Path) -> Any:
        from talon_harness.refserver import RuleSet

        return RuleSet.from_file(path)


class SloFile(ContentFile):
    """SLO gates (TOML, JSON or YAML) -> `loadtests.gates.SloSet`."""

    name = "slo.toml"
    what = "SLO file"

    def load(self, path: Path) -> Any:
        from talon_harness.loadtests.gates import SloSet

        return SloSet.from_file(path)


class BaselineFile(ContentFile):
    """A schemathesis baseline (known failures, JSON, as ``st run --baseline-update`` writes it) -> its path."""

    name = "baseline.json"
    what = "baseline file"

    def load(self, path: Path) -> Path:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list):
            raise ValueError("expected a JSON object with an 'entries' list (a schemathesis baseline)")  # noqa: TRY004
        return path


class SqliteFile(click.ParamType):
    """A database path: missing or empty (a fresh database) or an existing SQLite file."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        if path.exists() and not path.is_file():
            self.fail(f"{str(path)!r} is not a file", param, ctx)
        if path.is_file() and path.stat().st_size:
            with path.open("rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    self.fail(f"{str(path)!r} is not an SQLite database", param, ctx)
        return path


class RulesPath(RulesFile):
    """A rule set file (as ``RulesFile`` checks it) -> its path, for a server started in another process."""

    def load(self, path: Path) -> Path:
        super().load(path)
        return path


class RecordingFile(ContentFile):
    """A traffic recording (``proxy --record`` NDJSON or HAR 1.2) holding at least one replayable PUT -> its path."""

    name = "recording"
    what = "recording"

    def load(self, path: Path) -> Path:
        from talon_harness.loadtests.replay import load_traffic

        load_traffic(path)
        return path


class FieldNames(click.ParamType):
    """Comma-separated answer field names or dotted paths (``firstSession,profile.totalSales``) -> a tuple."""

    name = "fields"
    _FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        names = tuple(n.strip() for n in str(value).split(","))
        bad = [n for n in names if not self._FIELD.fullmatch(n)]
        if bad:
            self.fail(f"not a field name or dotted path: {', '.join(map(repr, bad))} (e.g. firstSession, "
                      "profile.totalSales)", param, ctx)
        return names


class OutputFile(click.ParamType):
    """A file to write: not a directory, in a folder that exists -> its path."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        if path.is_dir():
            self.fail(f"{str(path)!r} is a directory, not a file", param, ctx)
        if not path.parent.is_dir():
            self.fail(f"the folder of {str(path)!r} does not exist", param, ctx)
        return path
