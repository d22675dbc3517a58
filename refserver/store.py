"""SQLite persistence: WAL mode, synchronous=NORMAL, one transaction per request.

Guarantees: a committed transaction survives a kill of the server process (WAL + NORMAL survives process
crashes; only an OS crash may lose the last commits). `Store.transaction()` is all-or-nothing: any
exception inside rolls back every write of the request, including the event row, so a failed request
changes nothing. Event ids come from an AUTOINCREMENT column: strictly increasing, never reused.
Not thread-safe by design: the app uses the store from the event-loop thread only.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import orjson

__all__ = ["Store", "StoredProfile", "Transaction", "dumps"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    integration_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    had_session INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    integration_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc TEXT NOT NULL
);
"""


def dumps(value: Any) -> bytes:
    """Compact JSON bytes; orjson, falling back to json.dumps for ints beyond 64 bits or deep nesting."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()  # ASCII: always encodable


@dataclass
class StoredProfile:
    """A profile document plus the private fact used for `firstSession` (D7)."""

    doc: dict[str, Any]
    had_session: bool


class Transaction:
    """Typed reads and writes inside one open transaction (obtain it from `Store.transaction()`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get_profile(self, integration_id: str) -> StoredProfile | None:
        row = self._conn.execute(
            "SELECT doc, had_session FROM profiles WHERE integration_id = ?", (integration_id,)
        ).fetchone()
        return None if row is None else StoredProfile(json.loads(row[0]), bool(row[1]))

    def put_profile(self, profile: StoredProfile) -> None:
        self._conn.execute(
            "INSERT INTO profiles (integration_id, doc, had_session) VALUES (?, ?, ?) "
            "ON CONFLICT(integration_id) DO UPDATE SET doc = excluded.doc, had_session = excluded.had_session",
            (profile.doc["integrationId"], dumps(profile.doc).decode(), int(profile.had_session)),
        )

    def get_session(self, integration_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT doc FROM sessions WHERE integration_id = ?", (integration_id,)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put_session(self, session: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO sessions (integration_id, doc) VALUES (?, ?) "
            "ON CONFLICT(integration_id) DO UPDATE SET doc = excluded.doc",
            (session["integrationId"], dumps(session).decode()),
        )

    def add_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Store `event` (without id) and return it with its new id as the first field."""
        cursor = self._conn.execute("INSERT INTO events (doc) VALUES (?)", (dumps(event).decode(),))
        return {"id": cursor.lastrowid, **event}


class Store:
    """The server's SQLite database at `path`; the schema is created on open."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """BEGIN IMMEDIATE ... COMMIT; ROLLBACK if the block raises."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield Transaction(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        """Row counts per table (for tests and diagnostics)."""
        return {
            table: self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("profiles", "sessions", "events")
        }

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
